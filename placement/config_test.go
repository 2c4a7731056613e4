package placement

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
)

// TestConfigNeverOverwritesNested: a nested Node or Membership setting that
// Start would overwrite is refused, not silently dropped; values equal to
// what Start sets, and the nested defaults, are accepted.
func TestConfigNeverOverwritesNested(t *testing.T) {
	t.Parallel()
	ok := DefaultConfig()
	ok.Name, ok.Cookie, ok.Weight = "n@h", testCookie, 3
	ok.Node.Name, ok.Membership.NodeName, ok.Membership.Cookie = "n@h", "n@h", testCookie
	ok.Membership.Weight, ok.Membership.ProtocolVersion = 3, protocolVersion
	ok.Membership.Tags = map[string]string{"zone": "a", "placementx": "not placement's"}
	ok.Kinds = map[string]node.KindFactory{"k": func() node.Behavior { return &node.Base{} }}
	ok.Node.Kinds = map[string]node.KindFactory{"other": func() node.Behavior { return &node.Base{} }}
	if err := ok.validate(); err != nil {
		t.Fatalf("consistent nested config refused: %v", err)
	}
	mc, nc := ok.membershipConfig("127.0.0.1:1", ok.Logger), ok.nodeConfig(nil, ok.Logger, ok.Kinds)
	if mc.Weight != 3 || mc.ProtocolVersion != protocolVersion || mc.Tags["zone"] != "a" || nc.Kinds["other"] == nil || nc.Kinds["k"] == nil {
		t.Fatalf("the nested configs placement builds lost a setting: %+v, %+v", mc, nc)
	}
	memnet := func(node.TransportParams, transport.Handler) (transport.Transport, error) {
		return nil, errors.New("unused")
	}
	for name, mod := range map[string]func(*Config){
		"node name":           func(c *Config) { c.Node.Name = "other@h" },
		"node transport":      func(c *Config) { c.Node.Transport = memnet },
		"node hidden":         func(c *Config) { c.Node.Hidden = true },
		"membership name":     func(c *Config) { c.Membership.NodeName = "other@h" },
		"membership addr":     func(c *Config) { c.Membership.TransportAddr = "127.0.0.1:1" },
		"membership weight":   func(c *Config) { c.Membership.Weight = 2 },
		"membership weight 1": func(c *Config) { c.Membership.Weight = 1 }, // membership's default, not Weight 3
		"membership proto":    func(c *Config) { c.Membership.ProtocolVersion = 9 },
		"membership proto 1":  func(c *Config) { c.Membership.ProtocolVersion = 1 }, // membership's default
		"placement tag":       func(c *Config) { c.Membership.Tags = map[string]string{tagStrategy: "ring"} },
		"placement tag ns":    func(c *Config) { c.Membership.Tags = map[string]string{"placement.x": "1"} },
		"node kind in Kinds":  func(c *Config) { c.Node.Kinds = map[string]node.KindFactory{"k": c.Kinds["k"]} },
		"membership cookie":   func(c *Config) { c.Membership.Cookie = []byte("another-cookie-0123456789abcdefghij") },
		"port range":          func(c *Config) { c.PortMin, c.PortMax = 9200, 9100 },
		"port max alone":      func(c *Config) { c.PortMax = 9100 },
		"port out of range":   func(c *Config) { c.PortMin = 70000 },
		"ports and factory":   func(c *Config) { c.Transport, c.PortMin = memnet, 9100 },
		"resolve and factor":  func(c *Config) { c.Transport, c.Resolve = memnet, func(string) (string, error) { return "", nil } },
	} {
		c := ok.clone()
		mod(&c)
		if err := c.validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
}

// TestConfigZeroMeansDefault: a Config with only Name and Cookie set gets
// DefaultConfig's values, and the fields whose zero was once a setting of
// its own (MaxHops 0, JoinTimeout 0) take it from a negative value now.
func TestConfigZeroMeansDefault(t *testing.T) {
	t.Parallel()
	zero := Config{Name: "n@h", Cookie: testCookie}
	if err := zero.validate(); err != nil {
		t.Fatalf("zero config refused: %v", err)
	}
	d := DefaultConfig()
	got := []any{zero.ListenAddr, zero.VNodes, zero.Weight, zero.Strategy, zero.LoadFactor, zero.PartitionBits,
		zero.MaxHops, zero.MigrationBudget, zero.HandoffTimeout, zero.ReconcileInterval, zero.PullWindow,
		zero.BufferSize, zero.DrainTimeout, zero.JoinTimeout}
	want := []any{d.ListenAddr, d.VNodes, d.Weight, d.Strategy, d.LoadFactor, d.PartitionBits,
		d.MaxHops, d.MigrationBudget, d.HandoffTimeout, d.ReconcileInterval, d.PullWindow,
		d.BufferSize, d.DrainTimeout, d.JoinTimeout}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("field %d of the list: zero config got %v, DefaultConfig has %v", i, got[i], want[i])
		}
	}
	off := Config{Name: "n@h", Cookie: testCookie, MaxHops: NoForwarding, JoinTimeout: -1}
	if err := off.validate(); err != nil || off.MaxHops != NoForwarding || off.JoinTimeout >= 0 {
		t.Fatalf("NoForwarding and a negative JoinTimeout: %v (MaxHops %d, JoinTimeout %v)", err, off.MaxHops, off.JoinTimeout)
	}
	for name, mod := range map[string]func(*Config){
		"hops -2":          func(c *Config) { c.MaxHops = -2 },
		"negative budget":  func(c *Config) { c.MigrationBudget = -1 },
		"negative buffer":  func(c *Config) { c.BufferSize = -1 },
		"negative handoff": func(c *Config) { c.HandoffTimeout = -time.Second },
	} {
		c := Config{Name: "n@h", Cookie: testCookie}
		mod(&c)
		if err := c.validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestConfigPortRangeAndResolve: the default TCP transport listens in
// PortMin..PortMax, and Resolve finds a node nobody gave an address for.
func TestConfigPortRangeAndResolve(t *testing.T) {
	port := freePort(t)
	a := DefaultConfig()
	a.Name, a.Cookie, a.Static = "a@127.0.0.1", testCookie, true
	a.PortMin, a.PortMax = port, port
	ca, err := Start(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	if want := "127.0.0.1:" + strconv.Itoa(port); ca.Node().Addr() != want {
		t.Fatalf("listens on %s, want %s", ca.Node().Addr(), want)
	}
	b := DefaultConfig()
	b.Name, b.Cookie, b.Static = "b@127.0.0.1", testCookie, true
	b.Resolve = func(name string) (string, error) {
		if name == a.Name {
			return ca.Node().Addr(), nil
		}
		return "", nil
	}
	cb, err := Start(b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cb.Node().ConnectErr(ctx, a.Name); err != nil {
		t.Fatalf("connect through Resolve: %v", err)
	}
}
