package nodetest

import (
	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
)

// listenTCP starts a TCP endpoint on a free 127.0.0.1 port for a node, with
// the transport's default tunables.
func listenTCP(p node.TransportParams, h transport.Handler, cookie []byte, log zerolog.Logger) (transport.Transport, error) {
	cfg := transport.DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.CookieFor = p.Name, cookie, p.CookieFor
	cfg.Hidden, cfg.Creation = p.Hidden, p.Creation
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Logger = log
	return transport.Listen(cfg, h)
}
