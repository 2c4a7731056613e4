package bench

import (
	"testing"
)

// The dissemination model reaches every member, within the times the
// profiles promise: local in about a second, lan in a few.
func TestViewsSpread(t *testing.T) {
	for _, c := range []struct {
		profile string
		n       int
		maxSec  float64
	}{{"local", 100, 1.5}, {"lan", 1000, 5}, {"lan", 10000, 6}} {
		o := DefaultChurnOptions()
		o.Views = c.profile
		v := newViewsRecorder(o, Scenario{Initial: churnMembers(c.n)}, 1000)
		d := v.spread(c.n, false)
		top := 0.0
		for _, x := range d {
			top = max(top, x)
		}
		if top <= 0 || top > c.maxSec {
			t.Errorf("%s n=%d: every member knows after %.2f s, want (0, %v]", c.profile, c.n, top, c.maxSec)
		}
		f := v.spread(c.n, true)
		if f[0] < 0.5 {
			t.Errorf("%s: a failure is noticed after %.2f s, want the detection time first", c.profile, f[0])
		}
	}
}

// A join routes some requests by the old owner while the news spreads; the
// ring's misrouted fraction is of the order of moved/keys × spread/interval.
func TestViewsRun(t *testing.T) {
	o := DefaultChurnOptions()
	o.Nodes, o.Keys, o.Scenarios, o.Schemes = []int{50}, 20000, []string{"flapping", "zone-loss"}, []string{"ring", "modulo"}
	o.Flaps, o.Views, o.Requests, o.VNodes = 3, "lan", 20000, 64
	run, err := RunChurn(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range run.Results {
		v := r.Views
		if v == nil || v.MisroutedFraction <= 0 || v.WindowFraction <= 0 || v.WindowFraction > 1 || v.DeadTargetFraction > v.MisroutedFraction {
			t.Fatalf("%s %s: %+v", r.Scheme, r.Scenario, v)
		}
		t.Logf("%s %s: %+v", r.Scheme, r.Scenario, *v)
	}
	if run.Results[0].Views.MisroutedFraction >= run.Results[1].Views.MisroutedFraction {
		t.Fatal("modulo moves nearly every key: it must misroute more than the ring")
	}
}
