package membership

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func validConfig(t *testing.T) Config {
	c := DefaultConfig()
	c.NodeName = "n@127.0.0.1"
	c.Cookie = newCookie(t)
	return c
}

func TestConfigValidate(t *testing.T) {
	bigTags := map[string]string{"blob": strings.Repeat("x", 600)}
	cases := []struct {
		name string
		mod  func(*Config)
	}{
		{"no name", func(c *Config) { c.NodeName = "" }},
		{"no at", func(c *Config) { c.NodeName = "node" }},
		{"empty host", func(c *Config) { c.NodeName = "node@" }},
		{"empty name part", func(c *Config) { c.NodeName = "@host" }},
		{"two ats", func(c *Config) { c.NodeName = "a@b@c" }},
		{"slash", func(c *Config) { c.NodeName = "a/b@c" }},
		{"space", func(c *Config) { c.NodeName = "a b@c" }},
		{"too long", func(c *Config) { c.NodeName = strings.Repeat("a", 130) + "@h" }},
		{"bad bind", func(c *Config) { c.BindAddr = "localhost" }},
		{"bad advertise", func(c *Config) { c.AdvertiseAddr = "nope" }},
		{"port range", func(c *Config) { c.BindPort = 70000 }},
		{"negative port", func(c *Config) { c.AdvertisePort = -1 }},
		{"empty join", func(c *Config) { c.Join = []string{" "} }},
		{"transport addr", func(c *Config) { c.TransportAddr = "no-port" }},
		{"weight -1", func(c *Config) { c.Weight = -1 }},
		{"weight too big", func(c *Config) { c.Weight = MaxWeight + 1 }},
		{"proto -1", func(c *Config) { c.ProtocolVersion = -1 }},
		{"reserved tag", func(c *Config) { c.Tags = map[string]string{TagPlacer: "2"} }},
		{"reserved prefix", func(c *Config) { c.Tags = map[string]string{"placer.x": "2"} }},
		{"empty tag key", func(c *Config) { c.Tags = map[string]string{"": "v"} }},
		{"tags too big", func(c *Config) { c.Tags = bigTags }},
		{"no cookie", func(c *Config) { c.Cookie = nil }},
		{"short cookie", func(c *Config) { c.Cookie = c.Cookie[:MinCookieLen-1] }},
		{"profile", func(c *Config) { c.Profile = "wan" }},
		{"retry interval", func(c *Config) { c.RetryJoinInterval = -time.Second }},
		{"reconcile interval", func(c *Config) { c.ReconcileInterval = -time.Second }},
		{"retry max", func(c *Config) { c.RetryJoinMax = -1 }},
	}
	good := validConfig(t)
	if err := good.validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.mod(&c)
			if err := c.validate(); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("got %v, want ErrBadConfig", err)
			}
			if _, err := Start(c); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("Start: got %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestStartCopiesConfig(t *testing.T) {
	t.Parallel()
	c := validConfig(t)
	c.Profile = ProfileLocal
	c.Tags = map[string]string{"zone": "a"}
	c.Join = []string{"127.0.0.1:1"}
	c.RetryJoinMax = 1
	snapshot := c.clone()
	m, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	if c.BindPort != 0 || c.AdvertisePort != 0 || !maps.Equal(c.Tags, snapshot.Tags) ||
		!slices.Equal(c.Join, snapshot.Join) || !slices.Equal(c.Cookie, snapshot.Cookie) || c.Transport != nil {
		t.Fatalf("Start wrote into the caller's config: %+v", c)
	}
	c.Tags["zone"] = "changed"
	c.Cookie[0] ^= 0xff
	if got := m.LocalMember().Tags["zone"]; got != "a" {
		t.Fatalf("changing the caller's map after Start changed the member: %q", got)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	t.Parallel()
	first := validConfig(t)
	first.Profile = ProfileLocal
	m, err := Start(first)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	second := validConfig(t)
	second.NodeName = "other@127.0.0.1"
	second.BindPort = int(m.serf.Memberlist().LocalNode().Port)
	second.Profile = ProfileLocal
	if _, err := Start(second); !errors.Is(err, ErrStart) {
		t.Fatalf("got %v, want ErrStart", err)
	}
}

func TestStartFailsOnUnwritableSnapshot(t *testing.T) {
	c := validConfig(t)
	c.SnapshotPath = t.TempDir() + "/missing-dir/snap"
	if _, err := Start(c); !errors.Is(err, ErrStart) {
		t.Fatalf("got %v, want ErrStart", err)
	}
}

func TestProfileTiming(t *testing.T) {
	local5, err := ProfileTiming(ProfileLocal, 5)
	if err != nil {
		t.Fatal(err)
	}
	// The placement target: a killed node's keys re-owned within 3 s. The
	// local profile must leave placement room within that.
	if local5.FailureWorst > 2500*time.Millisecond || local5.FailureTypical > 1500*time.Millisecond {
		t.Fatalf("local profile too slow for 5 nodes: %+v", local5)
	}
	lan5, _ := ProfileTiming(ProfileLAN, 5)
	if lan5.ProbeInterval != time.Second || lan5.Suspicion != 4*time.Second || lan5.SuspicionMax != 24*time.Second ||
		lan5.ReconnectInterval != 30*time.Second {
		t.Fatalf("lan profile is not Serf's LAN defaults: %+v", lan5)
	}
	big, _ := ProfileTiming(ProfileLocal, 100)
	if big.Suspicion != 2*local5.Suspicion {
		t.Fatalf("suspicion should scale with log10(n): %v vs %v", big.Suspicion, local5.Suspicion)
	}
	if _, err := ProfileTiming("wan", 3); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("unknown profile: %v", err)
	}
	if _, err := ProfileTiming(ProfileLocal, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("n=0: %v", err)
	}
}

// TestZeroConfigMeansDefaults: a Config with only NodeName and Cookie set
// is filled with the documented defaults, the same as DefaultConfig's.
func TestZeroConfigMeansDefaults(t *testing.T) {
	c := Config{NodeName: "n@127.0.0.1", Cookie: newCookie(t)}
	if err := c.validate(); err != nil {
		t.Fatalf("zero config rejected: %v", err)
	}
	d := DefaultConfig()
	if c.BindAddr != d.BindAddr || c.Profile != ProfileLAN || c.Weight != 1 || c.ProtocolVersion != 1 ||
		c.RetryJoinInterval != d.RetryJoinInterval || c.ReconcileInterval != d.ReconcileInterval {
		t.Fatalf("zero config filled as %+v", c)
	}
	fromDefault := validConfig(t)
	if err := fromDefault.validate(); err != nil {
		t.Fatal(err)
	}
	if fromDefault.Weight != c.Weight || fromDefault.ProtocolVersion != c.ProtocolVersion {
		t.Fatalf("DefaultConfig filled as weight %d protocol %d, zero config as %d %d",
			fromDefault.Weight, fromDefault.ProtocolVersion, c.Weight, c.ProtocolVersion)
	}
}
