package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/cliflag"
	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/ring"
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

func defaultAgentConfig() agentConfig {
	c := agentConfig{Config: agent.DefaultConfig(), LogLevel: "info", LogFormat: "console"}
	c.Pprof = true // the command's default (the library's is false)
	return c
}

// agentFlags binds the agent's flags to c.
func agentFlags(c *agentConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("agent", stderr)
	fs.StringVar(&c.Name, "name", c.Name, "node name, name@host (required; config key name)")
	fs.Var(&cliflag.List{P: &c.Join}, "join", "gossip address host:port of a member to join (a host alone: port 7946), repeatable or comma-separated; with --hidden: agents to connect to (name@host:port, or a name in the names dir)")
	fs.BoolVar(&c.Bootstrap, "bootstrap", c.Bootstrap, "start a new cluster even with --join (the first agent of a shared seed list); without --join an agent always starts one")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory holding Serf's snapshot, so that a restart rejoins the members it knew (\"off\": none)")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve /debug/pprof on the admin HTTP listener")
	fs.BoolVar(&c.Hidden, "hidden", c.Hidden, "run a hidden observer: connect to the --join agents over the transport, never join Serf or the ring")
	fs.StringVar(&c.Listen, "listen", c.Listen, "transport listen host:port (default: the host of --name, port 0 = any free port)")
	fs.IntVar(&c.PortMin, "port-min", c.PortMin, "lowest transport port to try (with --port-max: the first free port in the range; like inet_dist_listen_min)")
	fs.IntVar(&c.PortMax, "port-max", c.PortMax, "highest transport port to try (default --port-min)")
	fs.StringVar(&c.Gossip, "gossip", c.Gossip, "Serf gossip bind host:port (default: the host of --name, port 0)")
	fs.StringVar(&c.CookieFile, "cookie-file", c.CookieFile, "cookie file: created with a random cookie (mode 0600) if missing, only by an agent that starts a new cluster; refused if group/other-accessible or shorter than 32 bytes")
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
	fs.DurationVar(&c.JoinTimeout, "join-timeout", c.JoinTimeout, "how long start-up waits for the first join; an agent with --join that has not joined by then exits 1 naming the likely cause (negative: do not wait)")
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "TOML config file; every flag has a key (port_min for --port-min); flags override it; unknown keys are an error")
	return fs
}

// parseAgentConfig reads the flags, then the config file they (or
// PLACER_CONFIG) name, with the PLACER_* variables over the file and the
// flags over both, and validates the result.
func parseAgentConfig(args []string, stderr io.Writer) (agentConfig, error) {
	cfg := defaultAgentConfig()
	fs := agentFlags(&cfg, stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: placer agent --name NAME@HOST [--join HOST:PORT...] [--hidden] [--config placer.toml] [flags]")
		fmt.Fprintln(stderr, "Runs a placer cluster node until SIGTERM/SIGINT (graceful leave; a second signal closes at once).")
		fmt.Fprintln(stderr, "Every flag also reads PLACER_<FLAG> (PLACER_COOKIE_FILE for --cookie-file): flags > env > file.")
		fs.PrintDefaults()
	}
	if err := cliflag.Parse(fs, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if cfg.ConfigFile == "" {
		cfg.ConfigFile = os.Getenv(cliflag.EnvName("config"))
	}
	if cfg.ConfigFile != "" {
		file, err := loadConfigFile(cfg.ConfigFile)
		if err != nil {
			return cfg, err
		}
		fs = agentFlags(&file, io.Discard)
		if err := fs.Parse(args); err != nil {
			return cfg, fmt.Errorf("%w: %v", errUsage, err)
		}
		cfg = file
		fs = agentFlags(&cfg, io.Discard)
		_ = fs.Parse(args) // parsed above: marks the flags given
	}
	if err := cliflag.ApplyEnv(fs, "config"); err != nil {
		return cfg, err
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

// validate checks the command's own settings, then the library's
// (agent.Config.Validate); every error is a usage error.
func (c *agentConfig) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
	}
	switch {
	case c.Name == "":
		return bad("--name is required (name@host, e.g. node1@127.0.0.1)")
	case c.LogFormat != "console" && c.LogFormat != "json":
		return bad("--log-format %q: want console or json", c.LogFormat)
	case (c.TLSCert == "") != (c.TLSKey == "") || (c.TLSCert == "") != (c.TLSCA == ""):
		return bad("--tls-cert, --tls-key and --tls-ca go together")
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		return bad("--log-level %q: want trace, debug, info, warn or error", c.LogLevel)
	}
	if c.Weight < 1 || c.DrainTimeout <= 0 {
		return bad("--weight must be at least 1 and --drain-timeout positive")
	}
	lib := c.Config
	lib.DataDir = c.dataDir()
	if err := lib.Validate(); err != nil {
		return bad("%s", cliflag.FlagNames(agentFlags(&agentConfig{}, io.Discard), err.Error()))
	}
	return nil
}

// dataDir is the data directory: --data-dir, "" for "off" and for a
// hidden agent, or agent.DefaultDataDir.
func (c *agentConfig) dataDir() string {
	switch {
	case c.DataDir == dataDirOff || c.Hidden:
		return ""
	case c.DataDir != "":
		return c.DataDir
	}
	return agent.DefaultDataDir(c.Name)
}

// dataDirOff as --data-dir keeps no data directory.
const dataDirOff = "off"
