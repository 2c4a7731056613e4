package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/ring"
	"github.com/placerhq/placer/transport"

	"github.com/placerhq/placer/placement/agent"
)

// agentConfig is everything `placer agent` takes: the library's
// agent.Config (its toml tags are the file's keys) and the settings of
// the command alone. Every flag has a key in the TOML config file (same
// name with '_' for '-'); flags override the file.
type agentConfig struct {
	agent.Config
	TLSCert   string `toml:"tls_cert"`   // PEM certificate of this node
	TLSKey    string `toml:"tls_key"`    // PEM key
	TLSCA     string `toml:"tls_ca"`     // PEM CA of every node
	LogLevel  string `toml:"log_level"`  // trace, debug, info, warn, error
	LogFormat string `toml:"log_format"` // console or json

	ConfigFile string `toml:"-"` // --config (not a file key)
}

// Defaults of the agent's settings.
const (
	defaultHTTP = "127.0.0.1:0"
	httpOff     = agent.HTTPOff
)

func defaultAgentConfig() agentConfig {
	return agentConfig{Config: agent.DefaultConfig(), LogLevel: "info", LogFormat: "console"}
}

// listFlag is a repeatable flag whose values may also be comma-separated.
// The first use in a parse replaces what the list held (a config file's
// value), later ones append.
type listFlag struct {
	p   *[]string
	set bool
}

func (l *listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l *listFlag) Set(v string) error {
	if !l.set {
		*l.p, l.set = nil, true
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.p = append(*l.p, s)
		}
	}
	return nil
}

// agentFlags binds the agent's flags to c.
func agentFlags(c *agentConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("agent", stderr)
	fs.StringVar(&c.Name, "name", c.Name, "node name, name@host (required; config key name)")
	fs.Var(&listFlag{p: &c.Join}, "join", "gossip address host:port of a member to join, repeatable or comma-separated; with --hidden: agents to connect to (name@host:port, or a name in the names dir)")
	fs.BoolVar(&c.Hidden, "hidden", c.Hidden, "run a hidden observer: connect to the --join agents over the transport, never join Serf or the ring")
	fs.StringVar(&c.Listen, "listen", c.Listen, "transport listen host:port (default: the host of --name, port 0 = any free port)")
	fs.IntVar(&c.PortMin, "port-min", c.PortMin, "lowest transport port to try (with --port-max: the first free port in the range; like inet_dist_listen_min)")
	fs.IntVar(&c.PortMax, "port-max", c.PortMax, "highest transport port to try (default --port-min)")
	fs.StringVar(&c.Gossip, "gossip", c.Gossip, "Serf gossip bind host:port (default: the host of --name, port 0)")
	fs.StringVar(&c.CookieFile, "cookie-file", c.CookieFile, "cookie file: created with a random cookie (mode 0600) if missing; refused if group/other-accessible or shorter than 32 bytes")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "admin HTTP host:port (JSON API, /metrics, dashboard); \"off\" disables it")
	fs.StringVar(&c.NamesDir, "names-dir", c.NamesDir, "names directory (default $PLACER_NAMES_DIR, $XDG_RUNTIME_DIR/placer or /tmp/placer-$UID)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate for mutual TLS on the transport (with --tls-key and --tls-ca)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key for --tls-cert")
	fs.StringVar(&c.TLSCA, "tls-ca", c.TLSCA, "PEM CA that signs every node's certificate")
	fs.StringVar(&c.Profile, "profile", c.Profile, "gossip timing profile: lan (Serf defaults; failures seen in 5-7 s) or local (loopback; about 1 s)")
	fs.IntVar(&c.Weight, "weight", c.Weight, fmt.Sprintf("ring weight, 1..%d: this node's relative share of the keys", ring.MaxWeight))
	fs.StringVar(&c.Strategy, "strategy", c.Strategy, "placement strategy, the same on every member: ring (vnode ring) or bounded (bounded loads, lookups one table read)")
	fs.Float64Var(&c.LoadFactor, "load-factor", c.LoadFactor, "bounded strategy: no member holds more than this times its share, (1, 10]")
	fs.IntVar(&c.Replicas, "replicas", c.Replicas, "copies of each counter/kv key's state (1..5): R = 2 survives a crash or pause of one node with every acknowledged write")
	fs.BoolVar(&c.Quorum, "quorum", c.Quorum, "quorum mode: a side without a majority of the last full membership refuses keyed requests")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: trace, debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format on stderr: console or json")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long SIGTERM/SIGINT may take to hand every key off before the agent leaves anyway")
	fs.DurationVar(&c.JoinTimeout, "join-timeout", c.JoinTimeout, "how long start-up waits for the first join before serving its own view (the join keeps retrying)")
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "TOML config file; every flag has a key (port_min for --port-min); flags override it; unknown keys are an error")
	return fs
}

// parseAgentConfig reads the flags, then the config file they name (if
// any) with the flags applied over it, and validates the result.
func parseAgentConfig(args []string, stderr io.Writer) (agentConfig, error) {
	cfg := defaultAgentConfig()
	fs := agentFlags(&cfg, stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer agent --name NAME@HOST [--join HOST:PORT...] [--hidden] [--config placer.toml] [flags]")
		fmt.Fprintln(stderr, "Runs a placer cluster node until SIGTERM/SIGINT (graceful leave; a second signal closes at once).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if cfg.ConfigFile != "" {
		file, err := loadConfigFile(cfg.ConfigFile)
		if err != nil {
			return cfg, err
		}
		if err := agentFlags(&file, io.Discard).Parse(args); err != nil {
			return cfg, fmt.Errorf("%w: %v", errUsage, err)
		}
		cfg = file
	}
	return cfg, cfg.validate()
}

// loadConfigFile decodes a TOML config file over the defaults; unknown
// keys are an error.
func loadConfigFile(path string) (agentConfig, error) {
	cfg := defaultAgentConfig()
	md, err := toml.DecodeFile(path, &cfg)
	if err != nil {
		return cfg, fmt.Errorf("%w: config %s: %v", errUsage, path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("%w: config %s: unknown keys %s", errUsage, path, strings.Join(keys, ", "))
	}
	cfg.ConfigFile = path
	return cfg, nil
}

// validate checks the settings; every error is a usage error.
func (c *agentConfig) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
	}
	if c.Name == "" {
		return bad("--name is required (name@host, e.g. node1@127.0.0.1)")
	}
	if err := transport.ValidateName(c.Name); err != nil {
		return bad("--name: %v", err)
	}
	if err := c.validateAddrs(); err != nil {
		return bad("%v", err)
	}
	switch {
	case c.Hidden && len(c.Join) == 0:
		return bad("--hidden needs --join: the agents to connect to")
	case c.PortMin < 0 || c.PortMax < 0 || c.PortMin > 65535 || c.PortMax > 65535 || (c.PortMax > 0 && c.PortMin == 0):
		return bad("--port-min/--port-max must be ports (1..65535), --port-max only with --port-min")
	case c.PortMax > 0 && c.PortMax < c.PortMin:
		return bad("--port-max %d is below --port-min %d", c.PortMax, c.PortMin)
	case c.Profile != membership.ProfileLAN && c.Profile != membership.ProfileLocal:
		return bad("--profile %q: want lan or local", c.Profile)
	case c.Weight < 1 || c.Weight > ring.MaxWeight:
		return bad("--weight %d not in 1..%d", c.Weight, ring.MaxWeight)
	case c.Replicas < 1 || c.Replicas > 5:
		return bad("--replicas %d not in 1..5", c.Replicas)
	case c.Strategy != "ring" && c.Strategy != "bounded":
		return bad("--strategy %q: want ring or bounded", c.Strategy)
	case !(c.LoadFactor > 1 && c.LoadFactor <= 10):
		return bad("--load-factor %v not in (1, 10]", c.LoadFactor)
	case c.LogFormat != "console" && c.LogFormat != "json":
		return bad("--log-format %q: want console or json", c.LogFormat)
	case c.DrainTimeout <= 0 || c.JoinTimeout < 0:
		return bad("--drain-timeout must be positive and --join-timeout not negative")
	case (c.TLSCert == "") != (c.TLSKey == "") || (c.TLSCert == "") != (c.TLSCA == ""):
		return bad("--tls-cert, --tls-key and --tls-ca go together")
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		return bad("--log-level %q: want trace, debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// validateAddrs checks the host:port settings.
func (c *agentConfig) validateAddrs() error {
	for _, a := range []struct{ flag, v string }{{"--listen", c.Listen}, {"--gossip", c.Gossip}, {"--http", c.HTTP}} {
		if a.v == "" || (a.flag == "--http" && a.v == httpOff) {
			continue
		}
		_, port, err := net.SplitHostPort(a.v)
		if err != nil {
			return fmt.Errorf("%s %q: want host:port: %v", a.flag, a.v, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("%s %q: bad port", a.flag, a.v)
		}
	}
	if c.Gossip != "" {
		if host, _, _ := net.SplitHostPort(c.Gossip); net.ParseIP(host) == nil {
			return errors.New("--gossip needs an IP address (Serf binds to an IP), e.g. 127.0.0.1:7946")
		}
	}
	return nil
}
