package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/leakcheck"
	"github.com/placerhq/placer/placement/agent/names"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a loopback agent config in dir (cookie and names inside).
func testConfig(dir, name string) Config {
	cfg := DefaultConfig()
	cfg.Name, cfg.Profile, cfg.JoinTimeout = name, "local", 5*time.Second
	cfg.CookieFile, cfg.NamesDir = filepath.Join(dir, "cookie"), filepath.Join(dir, "names")
	return cfg
}

// TestConfigDerivedAddrs: the transport and gossip addresses follow the
// name's host unless set; a non-IP host gossips on 127.0.0.1.
func TestConfigDerivedAddrs(t *testing.T) {
	c := Config{Name: "n1@127.0.0.1"}
	if c.listenAddr() != "127.0.0.1:0" {
		t.Fatalf("listen %s", c.listenAddr())
	}
	if h, p := c.gossipBind(); h != "127.0.0.1" || p != 0 {
		t.Fatalf("gossip %s %d", h, p)
	}
	c = Config{Name: "x@localhost", Listen: "0.0.0.0:9100", Gossip: "10.0.0.1:7946"}
	if h, p := c.gossipBind(); c.listenAddr() != "0.0.0.0:9100" || h != "10.0.0.1" || p != 7946 {
		t.Fatalf("set addresses: %s %s %d", c.listenAddr(), h, p)
	}
	if h, _ := (&Config{Name: "x@localhost"}).gossipBind(); h != "127.0.0.1" {
		t.Fatalf("a non-IP host binds gossip to %s", h)
	}
}

// TestConfigInvalid: every bad setting is ErrBadConfig naming the field;
// zero fields with a default are filled, and the caller's Config is not
// written to.
func TestConfigInvalid(t *testing.T) {
	ok := testConfig(t.TempDir(), "a@127.0.0.1")
	for want, mod := range map[string]func(*Config){
		"Name":         func(c *Config) { c.Name = "nohost" },
		"Hidden needs": func(c *Config) { c.Hidden = true },
		"Profile":      func(c *Config) { c.Profile = "wan" },
		"Weight":       func(c *Config) { c.Weight = -1 },
		"port range":   func(c *Config) { c.PortMin, c.PortMax = 9200, 9100 },
		"Listen":       func(c *Config) { c.Listen = "nocolon" },
		"Gossip":       func(c *Config) { c.Gossip = "localhost:7946" },
		"HTTP":         func(c *Config) { c.HTTP = "127.0.0.1:99999" },
		"Reload needs": func(c *Config) { c.Reload = func() (zerolog.Level, error) { return 0, nil } },
		"DrainTimeout": func(c *Config) { c.DrainTimeout = -time.Second },
	} {
		c := ok.clone()
		mod(&c)
		if err := c.validate(); !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	zero := Config{Name: "z@127.0.0.1"}
	d := DefaultConfig()
	if err := zero.validate(); err != nil || zero.HTTP != d.HTTP || zero.Weight != d.Weight || zero.DrainTimeout != d.DrainTimeout ||
		zero.JoinTimeout != d.JoinTimeout || zero.Replicas != d.Replicas || zero.Profile != d.Profile || zero.Strategy != d.Strategy {
		t.Fatalf("zero fields not defaulted: %+v %v", zero, err)
	}
	if _, err := Start(Config{Name: "bad"}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("Start with a bad config: %v", err)
	}
}

// TestMemberAndHidden: a member and a hidden observer found through the
// names directory; the observer serves the cluster's view over HTTP and
// is listed only as hidden; a second agent with a live name is refused;
// the context ends Serve with a graceful stop that removes the records.
func TestMemberAndHidden(t *testing.T) {
	defer leakcheck.Verify(t, 10*time.Second, goleak.IgnoreCurrent())
	dir := t.TempDir()
	m, err := Start(testConfig(dir, "m1@127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := m.Info()
	if in.Transport == "" || in.Gossip == "" || in.HTTP == "" || in.Hidden || m.Client() != nil {
		t.Fatalf("member info %+v", in)
	}
	if err := names.Write(filepath.Join(dir, "names"), names.Record{Name: "busy@127.0.0.1", PID: os.Getppid()}); err != nil {
		t.Fatal(err)
	}
	if a, err := Start(testConfig(dir, "busy@127.0.0.1")); !errors.Is(err, names.ErrInUse) {
		if a != nil {
			_ = a.Close()
		}
		t.Fatalf("an agent with a name another live process holds: %v", err)
	}
	oc := testConfig(dir, "obs@127.0.0.1")
	oc.Hidden, oc.Join, oc.HTTP = true, []string{"m1@127.0.0.1"}, "127.0.0.1:0"
	obs, err := Start(oc)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	if oi := obs.Info(); !oi.Hidden || oi.Agent != "m1@127.0.0.1" || obs.Cluster() != nil {
		t.Fatalf("observer info %+v", oi)
	}
	if ms := m.Cluster().Members(); len(ms.Members) != 1 || len(ms.Hidden) != 1 || ms.Hidden[0] != "obs@127.0.0.1" {
		t.Fatalf("members seen by the member: %+v", ms)
	}
	if err := obs.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Serve(ctx, nil); err != nil {
		t.Fatalf("stop on context end: %v", err)
	}
	if recs, err := names.List(filepath.Join(dir, "names")); err != nil || len(recs) != 1 || recs[0].Name != "busy@127.0.0.1" {
		t.Fatalf("records left: %+v %v", recs, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cookie")); err != nil {
		t.Fatalf("no cookie file created: %v", err)
	}
}
