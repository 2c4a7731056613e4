package node

import "github.com/placerhq/placer/transport"

// TCP returns a TransportFactory that starts the real TCP transport
// (transport.Listen) on a copy of cfg, with the node's identity — Name,
// Creation, Hidden and CookieFor — taken from the TransportParams.
// cfg supplies the rest: Cookie, ListenAddr (empty: dial only), the
// PortMin/PortMax range, TLS, Resolve, Logger and the tunables. It is the
// one TCP factory of the module: placement, its Client, nodetest and the
// demo all build theirs with it.
func TCP(cfg transport.Config) TransportFactory {
	return func(p TransportParams, h transport.Handler) (transport.Transport, error) {
		tc := cfg
		tc.Name, tc.Creation, tc.Hidden, tc.CookieFor = p.Name, p.Creation, p.Hidden, p.CookieFor
		return transport.Listen(tc, h)
	}
}
