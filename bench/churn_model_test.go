package bench

import (
	"strings"
	"testing"

	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/ring"
)

// naiveStrategy builds a scheme as a ring.Strategy, to relocate every key
// after every event: the model the trackers' counting is checked against.
func naiveStrategy(t *testing.T, name string, o ChurnOptions, s Scenario, ms []ring.Member) ring.Strategy {
	t.Helper()
	var st ring.Strategy
	var err error
	switch name {
	case "ring":
		st, err = ring.New(ring.Config{VNodes: o.VNodes}, ms...)
	case "bounded":
		cfg := ring.DefaultBoundedConfig()
		cfg.Ring.VNodes, cfg.LoadFactor = o.VNodes, o.LoadFactor
		st, err = ring.NewBounded(cfg, ms...)
	case "consistent":
		st, err = schemes.NewConsistent(schemes.DefaultConsistentConfig(), ms...)
	case "modulo":
		st, err = schemes.NewModulo(ms...)
	case "jump":
		st, err = schemes.NewJump(ms...)
	case "rendezvous":
		st, err = schemes.NewRendezvous(ms...)
	case "maglev":
		st, err = schemes.NewMaglev(schemes.MaglevConfig{TableSize: schemes.NextPrime(max(65537, 100*maxWeight(s)))}, ms...)
	case "multiprobe":
		st, err = schemes.NewMultiProbe(schemes.MultiProbeConfig{Probes: o.Probes}, ms...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Every tracker reports, event by event, exactly the moves that relocating
// every key with the scheme's Locate finds: the same count, the same count
// between unchanged members, the same loads.
func TestChurnTrackersMatchRelocation(t *testing.T) {
	o := DefaultChurnOptions()
	o.VNodes, o.Probes = 16, 7
	ks := newKeySet(2000, StateBytes{Kind: "exp", A: 100})
	p := ScenarioParams{Nodes: 9, Events: 12, Flaps: 2, Seed: 7, Interval: 1, Drain: 3}
	file := "join extra-1 2\nmark two at once\nleave node-00003; weight extra-1 1\nfail node-00001; join node-00001\nweight node-00002 0\n"
	var scs []Scenario
	for _, name := range []string{"random", "reweight", "zone-loss", "deploy-surge", "scale-in"} {
		s, err := BuiltinScenario(name, p)
		if err != nil {
			t.Fatal(err)
		}
		scs = append(scs, s)
	}
	s, err := ParseScenario("file", strings.NewReader(file), churnMembers(9), 1)
	if err != nil {
		t.Fatal(err)
	}
	scs = append(scs, s)
	for _, s := range scs {
		for _, name := range ChurnSchemes {
			checkTracker(t, name, o, s, ks)
		}
	}
}

func checkTracker(t *testing.T, name string, o ChurnOptions, s Scenario, ks *keySet) {
	reg := newRegistry(s)
	tr, _ := newTracker(name, o, s, ks, reg)
	tl := newTally(len(reg.names))
	if err := tr.start(s.Initial, tl); err != nil {
		if schemeLimit(err) {
			return
		}
		t.Fatalf("%s %s: %v", name, s.Name, err)
	}
	st := naiveStrategy(t, name, o, s, s.Initial)
	owners := relocate(st, ks, reg)
	for i, ev := range s.Events {
		tl.begin(reg, ev)
		if err := tr.apply(changesOf(ev), tl); err != nil {
			if schemeLimit(err) {
				return
			}
			t.Fatalf("%s %s event %d: %v", name, s.Name, i+1, err)
		}
		next, err := st.With(changesOf(ev)...)
		if err != nil {
			t.Fatal(err)
		}
		st = next
		now := relocate(st, ks, reg)
		moved, old, bytes := int64(0), int64(0), int64(0)
		load := make([]int64, len(reg.names))
		for k := range now {
			load[now[k]]++
			if now[k] != owners[k] {
				moved++
				bytes += ks.keyBytes(k)
				if !tl.changed[now[k]] && !tl.changed[owners[k]] {
					old++
				}
			}
		}
		if moved != tl.moved || old != tl.betweenOld || bytes != tl.movedBytes {
			t.Fatalf("%s %s event %d: tracker moved %d (%d between old, %d bytes), relocation %d (%d, %d)", name, s.Name, i+1, tl.moved, tl.betweenOld, tl.movedBytes, moved, old, bytes)
		}
		for m := range load {
			if load[m] != tl.load[m] {
				t.Fatalf("%s %s event %d: %s holds %d keys, tracker says %d", name, s.Name, i+1, reg.names[m], load[m], tl.load[m])
			}
		}
		owners = now
	}
}

func relocate(st ring.Strategy, ks *keySet, reg *registry) []int32 {
	out := make([]int32, len(ks.hashes))
	for i, h := range ks.hashes {
		out[i] = reg.of(st.LocateHash(h))
	}
	return out
}
