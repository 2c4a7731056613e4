package agent

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/cookie"
	"github.com/placerhq/placer/placement/agent/names"
	"github.com/placerhq/placer/transport"
)

// ClientConfig configures NewClient: a hidden node that uses a cluster
// through its agents the way the placer CLI does, with the cookie file
// and the names directory of this host. Start from DefaultClientConfig (or
// a zero ClientConfig).
//
// Zero values: a zero field means its documented default; NewClient
// rejects any other value out of range with an error wrapping ErrBadConfig
// that names the field.
type ClientConfig struct {
	// Name is the client's hidden node name, "name@host". Default:
	// "placer-cli-<pid>-<hex>@localhost".
	Name string
	// CookieFile holds the cluster secret; it is read, never created.
	// Default ("") ~/.placer.cookie.
	CookieFile string
	// NamesDir is the names directory the agents registered in. Default
	// "": names.Dir("").
	NamesDir string
	// Nodes and Addrs are the agents to talk to, in order of preference
	// (see Agents). Default none: every cluster agent of NamesDir.
	Nodes, Addrs []string
	// TLS, if set, is the cluster's mutual TLS. Default nil.
	TLS *tls.Config
	// TLSCert, TLSKey and TLSCA, if set (all three), are PEM files loaded
	// into TLS (transport.TLSFromFiles). Default none.
	TLSCert, TLSKey, TLSCA string
	// Timeout bounds each call, and (up to 2 s) each attempt to connect to
	// an agent. Default 5 s.
	Timeout time.Duration
	// Discover makes the client fail over to any member it learns of
	// (placement.ClientConfig.Discover). Default false.
	Discover bool
	// Logger receives the client's logs. Default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultClientConfig returns a ClientConfig with its defaults.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{CookieFile: cookie.DefaultPath(), Timeout: 5 * time.Second, Logger: zerolog.Nop()}
}

// maxConnectTimeout bounds one attempt to connect to one agent.
const maxConnectTimeout = 2 * time.Second

// NewClient reads the cookie file, finds the agents (Agents) and returns
// a placement.Client for them; it connects on first use. Errors wrap
// cookie.ErrFile (a missing file also fs.ErrNotExist), ErrBadAddr,
// ErrNoAgent or ErrBadConfig.
func NewClient(cfg ClientConfig) (*placement.Client, error) {
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Timeout %v is negative (0 = default)", ErrBadConfig, cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultClientConfig().Timeout
	}
	if cfg.CookieFile == "" {
		cfg.CookieFile = DefaultClientConfig().CookieFile
	}
	if cfg.Name == "" {
		cfg.Name = cliNodeName()
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.TLSCA != "" {
		var err error
		if cfg.TLS, err = transport.TLSFromFiles(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA); err != nil {
			return nil, err
		}
	}
	secret, err := cookie.Read(cfg.CookieFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no cookie file at %s: an agent creates it on first start; use the agents' cookie file: %w", cfg.CookieFile, err)
	}
	if err != nil {
		return nil, err
	}
	agents, err := Agents(names.Dir(cfg.NamesDir), cfg.Nodes, cfg.Addrs)
	if err != nil {
		return nil, err
	}
	cc := placement.DefaultClientConfig()
	cc.Name, cc.Cookie, cc.Agents, cc.TLS, cc.Discover, cc.Logger = cfg.Name, secret, agents, cfg.TLS, cfg.Discover, cfg.Logger
	cc.Resolve = names.Resolver(names.Dir(cfg.NamesDir)) // agents restarted on other ports
	cc.ConnectTimeout, cc.Node.CallTimeout = min(cfg.Timeout, maxConnectTimeout), cfg.Timeout
	return placement.NewClient(cc)
}

// cliNodeName is a fresh hidden node name for one client.
func cliNodeName() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("placer-cli-%d-%s@localhost", os.Getpid(), hex.EncodeToString(b[:]))
}
