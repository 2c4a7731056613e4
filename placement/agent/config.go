package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/cookie"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/ring"
	"github.com/placerhq/placer/transport"
)

// HTTPOff as Config.HTTP disables the admin HTTP server.
const HTTPOff = "off"

// Config configures an agent. Start from DefaultConfig (or a zero Config)
// and set Name (and Join to join a cluster, or Hidden and Join to observe
// one). Start copies it; changing it afterwards has no effect, and Start
// never writes to it. The toml tags are the keys of `placer agent
// --config` (each also a flag: port_min is --port-min); the fields tagged
// "-" exist only in Go.
//
// Zero values: a zero field means its documented default (a bool's is
// false); Start rejects any other value out of range with an error
// wrapping ErrBadConfig that names the field.
type Config struct {
	// Name is the node name, "name@host"; also the Serf node name.
	// Required.
	Name string `toml:"name"`
	// Join lists the gossip addresses ("host:port") of members to join.
	// With Hidden: the agents to connect to, as NAME@HOST:PORT or a name
	// in the names directory (see Agents). Default none: a new cluster.
	Join []string `toml:"join"`
	// Bootstrap lets a member with a Join list start a new cluster: it owns
	// keys before the join succeeds and does not fail when nobody answers
	// within JoinTimeout (for the first of several agents that share one
	// seed list). A member without Join always starts a new cluster. Only
	// a bootstrapping member creates a missing cookie file. Default false.
	Bootstrap bool `toml:"bootstrap"`
	// Hidden runs a hidden observer: it connects over the transport to
	// the Join agents (failing over to any member), never joins Serf or
	// the ring, and logs the cluster's events. Requires Join. Default
	// false.
	Hidden bool `toml:"hidden"`

	// Listen is the transport's "host:port". Default "": the host of Name,
	// port 0 (a free port).
	Listen string `toml:"listen"`
	// PortMin and PortMax, when PortMin > 0, make the transport listen on
	// the first free port in [PortMin, PortMax] (Erlang's
	// inet_dist_listen_min/max). PortMax 0 means PortMin. Default 0.
	PortMin int `toml:"port_min"`
	PortMax int `toml:"port_max"`
	// Gossip is Serf's bind "ip:port". Default "": the host of Name if it
	// is an IP address, else 127.0.0.1, port 0. Fix the port (7946) on a
	// seed so that others can join it.
	Gossip string `toml:"gossip"`
	// TLS, if set, wraps every transport connection in mutual TLS 1.3
	// (see transport.TLSFromFiles); the cookie is still checked inside.
	// Default nil.
	TLS *tls.Config `toml:"-"`

	// CookieFile holds the cluster secret (package placement/agent/cookie):
	// a member creates it on first start (mode 0600); a hidden agent only
	// reads it. Default ~/.placer.cookie. Never logged.
	CookieFile string `toml:"cookie_file"`
	// NamesDir is the names directory where the agent registers while it
	// runs (package placement/agent/names, epmd's role); the transport
	// also resolves unknown nodes there. Default "": names.Dir("").
	NamesDir string `toml:"names_dir"`
	// DataDir is the agent's own directory (created, mode 0700): it holds
	// Serf's snapshot (serf.snapshot), so that an agent restarted without
	// Join, even after a graceful leave, rejoins the members it knew; and
	// an agent that had peers and finds itself alone says so loudly.
	// Default "": no data directory (a restart without Join starts a new
	// cluster).
	DataDir string `toml:"data_dir"`
	// Pprof serves Go's profiles under /debug/pprof/ on the admin HTTP
	// listener, which has no authentication. Default false (`placer agent`
	// turns it on unless --pprof=false).
	Pprof bool `toml:"pprof"`
	// HTTP is the admin HTTP server's "host:port" (package
	// placement/agent/admin: JSON API, /metrics, dashboard), or HTTPOff.
	// Default "127.0.0.1:0"; "" means the default.
	HTTP string `toml:"http"`

	// Profile is the gossip timing: membership.ProfileLAN (Serf defaults;
	// failures seen in 5–7 s) or membership.ProfileLocal (loopback; about
	// 1 s). Default lan.
	Profile string `toml:"profile"`
	// Weight is this node's relative share of the keys, 1..ring.MaxWeight.
	// Default 1.
	Weight int `toml:"weight"`
	// Strategy places keys on members: "ring" (the vnode ring) or
	// "bounded" (bounded loads; placement.Config.Strategy). Every member
	// must use the same strategy and load factor; one that disagrees owns
	// no keys. Default ring.
	Strategy string `toml:"strategy"`
	// LoadFactor is the bounded strategy's c, in (1, 10]. Default 1.25.
	LoadFactor float64 `toml:"load_factor"`
	// Replicas is R for the built-in kinds (counter and kv): copies of each
	// key's state on the first R members of its preference list, so that a crash or
	// a pause of one node loses no acknowledged write (R = 2; two nodes:
	// R = 3). Every member should use the same R. Default 2; range 1..5.
	Replicas int `toml:"replicas"`
	// Quorum turns on quorum mode (placement.Config.Quorum). Default false.
	Quorum bool `toml:"quorum"`
	// Kinds are keyed kinds to register beside the built-in counter and kv
	// (see Kinds); a kind of the same name replaces the built-in one.
	// Every node of a cluster must register the same kinds. Default none.
	Kinds map[string]node.KindFactory `toml:"-"`

	// DrainTimeout bounds the graceful leave (Stop, the first signal).
	// Default 30 s.
	DrainTimeout time.Duration `toml:"drain_timeout"`
	// JoinTimeout is how long Start waits for the first join (a member
	// with Join) or for the first answer of an agent (hidden). A member
	// that has not joined by then fails to start with ErrJoin, naming the
	// likely cause (another cookie, nothing listening, a name that does
	// not resolve), unless Bootstrap; it never owns keys before it joined.
	// A member restarted from DataDir waits this long for one of its
	// previous peers, then warns that it is alone. Default (0) 10 s. A
	// negative value does not wait (the join goes on in the background;
	// nothing is owned until it succeeds).
	JoinTimeout time.Duration `toml:"join_timeout"`

	// Logger receives the agent's logs; every component logs through a
	// child of it (component=agent, placement, node, membership, transport,
	// http). Default zerolog.Nop(). See NewLogger for one with a level
	// that SIGHUP can change.
	Logger zerolog.Logger `toml:"-"`
	// Reload, if set, is called on SIGHUP and returns the log level to use
	// from now on (`placer agent` re-reads its config file), which is set
	// on Level. Requires Level. Default nil: SIGHUP changes nothing.
	Reload func() (zerolog.Level, error) `toml:"-"`
	// Level is the level Reload's result is applied to: the one given to
	// NewLogger. Default nil.
	Level *LevelVar `toml:"-"`
}

// DefaultConfig returns a Config with every default filled in; Name must
// still be set.
func DefaultConfig() Config {
	return Config{
		CookieFile: cookie.DefaultPath(), HTTP: "127.0.0.1:0", Profile: membership.ProfileLAN,
		Weight: 1, Replicas: 2, Strategy: placement.StrategyRing, LoadFactor: placement.DefaultConfig().LoadFactor,
		DrainTimeout: 30 * time.Second, JoinTimeout: 10 * time.Second, Logger: zerolog.Nop(),
	}
}

// clone returns a copy of c that shares no slice or map with it.
func (c Config) clone() Config {
	c.Join, c.Kinds = slices.Clone(c.Join), maps.Clone(c.Kinds)
	return c
}

// Validate checks a copy of c (with the zero fields that have a default
// filled), as Start does; errors wrap ErrBadConfig and name the field.
func (c Config) Validate() error { return c.validate() }

// validate checks c and fills the zero fields that have a default.
func (c *Config) validate() error {
	d := DefaultConfig()
	for p, v := range map[*string]string{&c.CookieFile: d.CookieFile, &c.HTTP: d.HTTP, &c.Profile: d.Profile, &c.Strategy: d.Strategy} {
		if *p == "" {
			*p = v
		}
	}
	if c.Weight == 0 {
		c.Weight = d.Weight
	}
	if c.LoadFactor == 0 {
		c.LoadFactor = d.LoadFactor
	}
	if c.Replicas == 0 {
		c.Replicas = d.Replicas
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = d.DrainTimeout
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = d.JoinTimeout
	}
	return errors.Join(c.validateNode(), c.validateAddrs())
}

// badConfig is an error wrapping ErrBadConfig; format names the field.
func badConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
}

// validateNode checks everything but the addresses.
func (c *Config) validateNode() error {
	if err := transport.ValidateName(c.Name); err != nil {
		return badConfig("Name: %w", err)
	}
	switch {
	case c.Hidden && len(c.Join) == 0:
		return badConfig("Hidden needs Join: the agents to connect to")
	case c.Hidden && c.Bootstrap:
		return badConfig("Bootstrap is for members, not Hidden agents")
	case c.Profile != membership.ProfileLAN && c.Profile != membership.ProfileLocal:
		return badConfig("Profile %q: want lan or local", c.Profile)
	case c.Weight < 1 || c.Weight > ring.MaxWeight:
		return badConfig("Weight %d not in 1..%d", c.Weight, ring.MaxWeight)
	case c.Strategy != placement.StrategyRing && c.Strategy != placement.StrategyBounded:
		return badConfig("Strategy %q: want ring or bounded", c.Strategy)
	case !(c.LoadFactor > 1 && c.LoadFactor <= 10):
		return badConfig("LoadFactor %v not in (1, 10]", c.LoadFactor)
	case c.Replicas < 1 || c.Replicas > 5:
		return badConfig("Replicas %d not in 1..5", c.Replicas)
	case c.DrainTimeout < 0:
		return badConfig("DrainTimeout %v is negative (0 = default)", c.DrainTimeout)
	case c.Reload != nil && c.Level == nil:
		return badConfig("Reload needs Level")
	case c.CookieFile == "":
		return badConfig("CookieFile: no home directory for the default; set it")
	}
	return nil
}

// validateAddrs checks the host:port settings and the port range.
func (c *Config) validateAddrs() error {
	for _, a := range []struct{ field, v string }{{"Listen", c.Listen}, {"Gossip", c.Gossip}, {"HTTP", c.HTTP}} {
		if a.v == "" || (a.field == "HTTP" && a.v == HTTPOff) {
			continue
		}
		if _, err := splitPort(a.v); err != nil {
			return badConfig("%s %q: %w", a.field, a.v, err)
		}
	}
	if host, _, _ := net.SplitHostPort(c.Gossip); c.Gossip != "" && net.ParseIP(host) == nil {
		return badConfig("Gossip %q needs an IP address (Serf binds to an IP), e.g. 127.0.0.1:7946", c.Gossip)
	}
	if !c.Hidden {
		for _, j := range c.Join {
			if err := checkJoinAddr(j); err != nil {
				return err
			}
		}
	}
	if c.PortMin < 0 || c.PortMin > 65535 || c.PortMax < 0 || c.PortMax > 65535 ||
		(c.PortMax > 0 && (c.PortMin == 0 || c.PortMax < c.PortMin)) {
		return badConfig("port range %d..%d: want 1 <= PortMin <= PortMax <= 65535 (PortMax 0: PortMin)", c.PortMin, c.PortMax)
	}
	return nil
}

// splitPort returns the port of a "host:port".
func splitPort(hostPort string) (int, error) {
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return 0, fmt.Errorf("want host:port: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return 0, errors.New("bad port")
	}
	return p, nil
}

// host is the host part of the node name.
func (c *Config) host() string {
	_, h, _ := strings.Cut(c.Name, "@")
	return h
}

// listenAddr is the transport listen address: Listen, else the name's
// host with port 0.
func (c *Config) listenAddr() string {
	if c.Listen != "" {
		return c.Listen
	}
	return net.JoinHostPort(c.host(), "0")
}

// gossipBind is the Serf bind IP and port: Gossip, else the name's host
// (if it is an IP, else 127.0.0.1) and port 0.
func (c *Config) gossipBind() (string, int) {
	if c.Gossip != "" {
		host, _, _ := net.SplitHostPort(c.Gossip)
		p, _ := splitPort(c.Gossip) // checked by validate
		return host, p
	}
	if ip := net.ParseIP(c.host()); ip != nil {
		return ip.String(), 0
	}
	return "127.0.0.1", 0
}

// checkJoinAddr checks a member's join address: host:port, or a host
// alone (membership.DefaultPort is added).
func checkJoinAddr(j string) error {
	hostPort := membership.JoinAddr(j)
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil || host == "" || strings.ContainsAny(host, " @") {
		return badConfig("Join %q: want host:port (or a host: port %d)", j, membership.DefaultPort)
	}
	if _, err := splitPort(hostPort); err != nil {
		return badConfig("Join %q: %w", j, err)
	}
	return nil
}

// bootstrapping: this member may start a new cluster (and create the
// cookie file).
func (c *Config) bootstrapping() bool { return len(c.Join) == 0 || c.Bootstrap }

// DefaultDataDir is the data directory `placer agent` uses for a member
// named name: $XDG_STATE_HOME/placer/NAME, else
// ~/.local/state/placer/NAME ("" without a home directory).
func DefaultDataDir(name string) string {
	base := os.Getenv("XDG_STATE_HOME")
	if home, err := os.UserHomeDir(); base == "" && err == nil {
		base = filepath.Join(home, ".local", "state")
	}
	if base == "" {
		return ""
	}
	return filepath.Join(base, "placer", strings.ReplaceAll(name, "/", "_"))
}
