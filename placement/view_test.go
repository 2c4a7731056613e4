package placement

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
)

func info(name string, draining bool) memberInfo {
	return memberInfo{name: name, weight: 1, draining: draining, proto: protocolVersion}
}

func input(ms ...memberInfo) viewInput { return viewInput{alive: ms, quorum: true} }

// TestSnapshotEpochs: the epoch grows only when the ring changes; a
// draining member leaves the ring but stays alive; members speaking
// another protocol are ignored.
func TestSnapshotEpochs(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s1, changed, err := nextSnapshot(nil, input(info("a", false), info("b", false)), "a", false, "ring/v64", now, time.Minute)
	if err != nil || !changed || s1.view.Epoch != 1 || len(s1.view.Members) != 2 {
		t.Fatalf("first: %+v %v %v", s1.view, changed, err)
	}
	s2, changed, _ := nextSnapshot(s1, input(info("b", false), info("a", false)), "a", false, "ring/v64", now, time.Minute)
	if changed || s2.view != s1.view {
		t.Fatal("same members in another order changed the view")
	}
	odd := info("c", false)
	odd.proto = protocolVersion + 1
	s3, changed, _ := nextSnapshot(s2, input(info("a", false), info("b", true), odd), "a", false, "ring/v64", now, time.Minute)
	if !changed || s3.view.Epoch != 2 || len(s3.view.Members) != 1 || !slices.Equal(s3.view.Draining, []string{"b"}) {
		t.Fatalf("draining b: %+v", s3.view)
	}
	if !s3.isAlive("b") || s3.wide.Len() != 2 {
		t.Fatalf("draining b must stay alive and in the wide ring: %v %d", s3.isAlive("b"), s3.wide.Len())
	}
	s4, changed, _ := nextSnapshot(s3, input(info("a", false)), "a", false, "ring/v64", now, time.Minute)
	if changed || s4.view.Epoch != 2 || len(s4.view.Draining) != 0 {
		t.Fatalf("b gone after draining: changed %v, %+v", changed, s4.view)
	}
	s5, changed, _ := nextSnapshot(s4, input(info("a", false)), "a", true, "ring/v64", now, time.Minute)
	if !changed || s5.view.Ring().Len() != 0 || s5.owner("k") != "" {
		t.Fatalf("self draining: %+v", s5.view)
	}
}

// TestCandidates: a node that joined asks the owner without it; after a
// drain the draining node; nothing once the window passed or the
// candidate is dead.
func TestCandidates(t *testing.T) {
	t.Parallel()
	now, window := time.Now(), 10*time.Second
	s1, _, _ := nextSnapshot(nil, input(info("n", false)), "n", false, "ring/v64", now, window)
	s2, _, _ := nextSnapshot(s1, input(info("a", false), info("b", false), info("n", false)), "n", false, "ring/v64", now, window)
	key := findKey(t, func(k string) bool { return s2.owner(k) == "n" })
	before, _ := buildRing(64, s2.view.Members[:2])
	if c := s2.candidates("n", key, now); !slices.Equal(c, []string{before.LocateString(key)}) {
		t.Fatalf("joined node: candidates %v, want the owner without it %s", c, before.LocateString(key))
	}
	if c := s2.candidates("n", key, now.Add(window)); len(c) != 0 {
		t.Fatalf("after the window: %v", c)
	}
	s3, _, _ := nextSnapshot(s2, input(info("a", false), info("n", false)), "n", false, "ring/v64", now, window)
	for _, c := range s3.candidates("n", key, now) {
		if c == "b" {
			t.Fatal("dead member b is a candidate")
		}
	}
	// A drains: its keys' new owners ask it.
	d, _, _ := nextSnapshot(s3, input(info("a", true), info("n", false)), "n", false, "ring/v64", now.Add(time.Hour), window)
	k2 := findKey(t, func(k string) bool { return s3.owner(k) == "a" })
	if c := d.candidates("n", k2, now.Add(time.Hour)); !slices.Equal(c, []string{"a"}) {
		t.Fatalf("drain: candidates %v, want [a]", c)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := DefaultConfig()
	ok.Name, ok.Cookie = "n@h", testCookie
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"no name":      func(c *Config) { c.Name = "" },
		"short cookie": func(c *Config) { c.Cookie = []byte("short") },
		"vnodes":       func(c *Config) { c.VNodes = -1 },
		"weight":       func(c *Config) { c.Weight = 1 << 20 },
		"hops":         func(c *Config) { c.MaxHops = 17 },
		"budget":       func(c *Config) { c.MigrationBudget = -1 },
		"duration":     func(c *Config) { c.HandoffTimeout = -time.Second },
		"kind":         func(c *Config) { c.Kinds = map[string]node.KindFactory{"": nil} },
		"nil kind":     func(c *Config) { c.Kinds = map[string]node.KindFactory{"k": nil} },
	} {
		c := ok.clone()
		mod(&c)
		if err := c.validate(); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := Start(Config{Name: "x@h"}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("Start with a bad config: %v", err)
	}
}
