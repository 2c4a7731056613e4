package membership

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/serf/serf"
	"github.com/rs/zerolog"
)

// TestForgedTagsExcluded is the regression test of the probe "a gossip-key
// holder can take over the ring": a stock Serf agent given the derived
// gossip key (as docs/membership.md allows) and forged placer tags (a name
// without @host, weight 4096, a bogus address) used to become a member on
// every node. Now it is refused, counted and logged at warn level by name;
// so is one that replays a real member's signed tags under another name.
func TestForgedTagsExcluded(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	c := newCluster(t, false)
	cfg := c.config("f0@127.0.0.1")
	cfg.Logger = zerolog.New(&out).Level(zerolog.WarnLevel)
	ms := []*Membership{c.start(cfg), c.start(c.config("f1@127.0.0.1"))}
	allSeeAlive(t, convergeTimeout, ms, 2)

	forged := map[string]string{TagPlacer: PlacerTagValue, TagTransport: "bogus", TagWeight: "4096", TagProtocol: "1"}
	replayed := maps.Clone(ms[1].serf.LocalMember().Tags) // f1's genuine signed tags
	for name, tags := range map[string]map[string]string{"evil": forged, "f9@127.0.0.1": replayed} {
		s := startTaggedSerf(t, c.cookie, name, tags)
		if _, err := s.Join([]string{ms[0].GossipAddr()}, true); err != nil {
			t.Fatalf("%s: a stock serf with the gossip key joins the pool: %v", name, err)
		}
	}
	for _, m := range ms {
		waitFor(t, convergeTimeout, func() bool { return m.Stats().Rejected == 2 },
			"%s never saw both forgers: %+v", m.Name(), m.Stats())
		if got := names(m.Members()); !slices.Equal(got, []string{"f0@127.0.0.1", "f1@127.0.0.1"}) {
			t.Fatalf("%s lists %v: a forger became a member", m.Name(), got)
		}
		if got := names(m.View().Alive); len(got) != 2 {
			t.Fatalf("%s's view has %v alive", m.Name(), got)
		}
	}
	waitFor(t, convergeTimeout, func() bool {
		logs := out.String()
		return strings.Contains(logs, `"member":"evil"`) && strings.Contains(logs, `"member":"f9@127.0.0.1"`)
	}, "no warning naming both forgers in %q", out.String())
	if n := strings.Count(out.String(), `"member":"evil"`); n != 1 {
		t.Fatalf("the forger was logged %d times, want once", n)
	}
}

// startTaggedSerf starts a stock Serf named name with tags, using the
// gossip key derived from cookie, as `serf agent -encrypt -tag ...` would.
func startTaggedSerf(t *testing.T, cookie []byte, name string, tags map[string]string) *serf.Serf {
	t.Helper()
	key, err := DeriveGossipKey(cookie)
	if err != nil {
		t.Fatal(err)
	}
	sc := serf.DefaultConfig()
	sc.NodeName, sc.Tags = name, tags
	sc.MemberlistConfig.BindAddr, sc.MemberlistConfig.BindPort = "127.0.0.1", 0
	sc.MemberlistConfig.SecretKey = key
	sc.Logger = newStdLogger(testLogger().With().Str("stock", fmt.Sprint(name)).Logger())
	sc.LogOutput, sc.MemberlistConfig.Logger = nil, sc.Logger
	s, err := serf.Create(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	return s
}
