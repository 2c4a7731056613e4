package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/placement/agent"
)

// TestAgentFlags: flags fill the config; --join is repeatable and takes
// comma-separated lists; defaults are sane.
func TestAgentFlags(t *testing.T) {
	cfg, err := parseAgentConfig([]string{
		"--name", "n1@127.0.0.1", "--join", "127.0.0.1:1,127.0.0.1:2", "--join", "127.0.0.1:3",
		"--port-min", "9100", "--port-max", "9110", "--profile", "local", "--weight", "3", "--quorum",
		"--http", "off", "--log-format", "json", "--drain-timeout", "5s",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Join, []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}) || cfg.PortMin != 9100 ||
		cfg.PortMax != 9110 || cfg.Profile != "local" || cfg.Weight != 3 || !cfg.Quorum || cfg.HTTP != agent.HTTPOff ||
		cfg.LogFormat != "json" || cfg.DrainTimeout != 5*time.Second {
		t.Fatalf("%+v", cfg)
	}
	d, err := parseAgentConfig([]string{"--name", "x@localhost"}, io.Discard)
	if err != nil || d.HTTP != agent.DefaultConfig().HTTP || d.Profile != "lan" || d.Weight != 1 || d.LogLevel != "info" {
		t.Fatalf("defaults %+v %v", d, err)
	}
}

// TestAgentConfigFile: the example file loads; flags override its keys
// (also a list and a bool); unknown keys are refused.
func TestAgentConfigFile(t *testing.T) {
	example := filepath.Join("..", "..", "testdata", "agent", "placer.toml")
	cfg, err := parseAgentConfig([]string{"--config", example}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "node1@127.0.0.1" || cfg.PortMin != 9100 || cfg.PortMax != 9199 || cfg.Gossip != "127.0.0.1:7947" ||
		cfg.DrainTimeout != 30*time.Second || cfg.LogFormat != "json" || cfg.ConfigFile != example {
		t.Fatalf("%+v", cfg)
	}
	over, err := parseAgentConfig([]string{"--config", example, "--name", "other@127.0.0.1", "--join", "10.0.0.1:7946",
		"--quorum=true", "--log-format", "console"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if over.Name != "other@127.0.0.1" || !slices.Equal(over.Join, []string{"10.0.0.1:7946"}) || !over.Quorum ||
		over.LogFormat != "console" || over.PortMin != 9100 {
		t.Fatalf("flags did not override the file: %+v", over)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("name = \"a@b\"\nport_mni = 3\n[extra]\nx = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = parseAgentConfig([]string{"--config", bad}, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "port_mni") || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("unknown keys: %v", err)
	}
	_, err = parseAgentConfig([]string{"--config", filepath.Join(t.TempDir(), "missing.toml")}, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestAgentConfigInvalid: every bad setting is a usage error naming the
// flag.
func TestAgentConfigInvalid(t *testing.T) {
	cases := map[string][]string{
		"--name is required": {},
		"--name:":            {"--name", "nohost"},
		"--hidden needs":     {"--name", "a@h", "--hidden"},
		"--port-min":         {"--name", "a@h", "--port-max", "9000"},
		"9100..9000":         {"--name", "a@h", "--port-min", "9100", "--port-max", "9000"},
		"--bootstrap is":     {"--name", "a@h", "--hidden", "--join", "x@h", "--bootstrap"},
		"--join \"a b\"":     {"--name", "a@h", "--join", "a b"},
		"--profile":          {"--name", "a@h", "--profile", "wan"},
		"--weight":           {"--name", "a@h", "--weight", "0"},
		"--log-format":       {"--name", "a@h", "--log-format", "xml"},
		"--log-level":        {"--name", "a@h", "--log-level", "loud"},
		"--tls-cert":         {"--name", "a@h", "--tls-cert", "c.pem"},
		"--listen":           {"--name", "a@h", "--listen", "nocolon"},
		"needs an IP":        {"--name", "a@h", "--gossip", "localhost:7946"},
		"bad port":           {"--name", "a@h", "--http", "127.0.0.1:99999"},
		"--drain-timeout":    {"--name", "a@h", "--drain-timeout", "0s"},
		"unexpected":         {"--name", "a@h", "stray"},
		"not defined":        {"--nope"},
	}
	for want, args := range cases {
		_, err := parseAgentConfig(args, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want a usage error with %q", args, err, want)
		}
	}
}

// TestAgentEnvPrecedence: every flag reads PLACER_<FLAG>; a flag given on
// the command line wins over the variable, which wins over the config
// file (PLACER_CONFIG names the file).
func TestAgentEnvPrecedence(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "p.toml")
	if err := os.WriteFile(conf, []byte("name = \"file@h\"\nweight = 2\nprofile = \"local\"\nlog_level = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLACER_CONFIG", conf)
	t.Setenv("PLACER_WEIGHT", "5")
	t.Setenv("PLACER_LOG_LEVEL", "warn")
	t.Setenv("PLACER_JOIN", "10.0.0.1:7946,10.0.0.2")
	c, err := parseAgentConfig([]string{"--log-level", "error"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "file@h" || c.Weight != 5 || c.LogLevel != "error" || c.Profile != "local" || !slices.Equal(c.Join, []string{"10.0.0.1:7946", "10.0.0.2"}) {
		t.Fatalf("name %s weight %d level %s profile %s join %v", c.Name, c.Weight, c.LogLevel, c.Profile, c.Join)
	}
	t.Setenv("PLACER_WEIGHT", "heavy")
	if _, err := parseAgentConfig(nil, io.Discard); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "PLACER_WEIGHT") {
		t.Fatalf("bad variable: %v", err)
	}
}
