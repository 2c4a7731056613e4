package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/chart"
)

func tinyRingOptions() RingOptions {
	return RingOptions{Nodes: []int{3, 8}, Keys: 4000, VNodes: 32, LoadFactors: []float64{1.25}, Rounds: 2, Budget: time.Millisecond}
}

// RunRing with tiny sizes: every strategy and size is measured, the figures
// are sane, and the properties that hold by construction hold.
func TestRunRingTiny(t *testing.T) {
	defer goleak.VerifyNone(t)
	var steps []int
	o := tinyRingOptions()
	o.Progress = func(done, total int, what string) {
		if what == "" || done > total {
			t.Errorf("bad progress %d/%d %q", done, total, what)
		}
		steps = append(steps, done)
	}
	rs, err := RunRing(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 8 {
		t.Fatalf("got %d results, want 2 sizes × 4 strategies", len(rs))
	}
	if want := 1 + 8*ringStepsPerSubject; len(steps) != want || steps[len(steps)-1] != want {
		t.Fatalf("progress steps %v, want 1..%d", steps, want)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Strategy)
		checkSane(t, r)
	}
	for _, s := range []string{"ring", "bounded", "consistent", "modulo"} {
		if !slices.Contains(names, s) {
			t.Errorf("no %s result", s)
		}
	}
}

func checkSane(t *testing.T, r RingResult) {
	t.Helper()
	where := r.Strategy + " at " + itoa(r.Nodes)
	positive := map[string]float64{"lookup_ns": r.LookupNs, "build_ms": r.BuildMs, "add_remove_us": r.AddRemoveUs,
		"bytes_per_vnode": r.BytesPerVnode, "join_moved_ratio": r.JoinMovedRatio, "leave_moved_ratio": r.LeaveMovedRatio}
	for name, v := range positive {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s: %s = %v, want > 0", where, name, v)
		}
	}
	if r.PeakToAvg < 1 || r.PeakToAvg > float64(r.Nodes) || r.CV < 0 || r.CV > 2 {
		t.Errorf("%s: peak/avg %v cv %v out of range", where, r.PeakToAvg, r.CV)
	}
	if r.EqualSplitPeak < 1 || r.EqualSplitPeak > float64(r.Nodes) {
		t.Errorf("%s: equal-split peak/avg %v out of range", where, r.EqualSplitPeak)
	}
	if r.JoinMovedBetweenOldRatio < 0 || r.JoinMovedBetweenOldRatio > r.JoinMovedRatio {
		t.Errorf("%s: moved between old %v > moved %v", where, r.JoinMovedBetweenOldRatio, r.JoinMovedRatio)
	}
	if r.Keys != 4000 || r.AllocsPerLookup < 0 {
		t.Errorf("%s: keys %d allocs %v", where, r.Keys, r.AllocsPerLookup)
	}
	switch r.Strategy {
	case "ring":
		// Properties of the vnode ring, true for any sizes.
		if r.JoinMovedBetweenOldRatio != 0 || r.LeaveMovedExtra != 0 || r.JoinMovedRatio > 2.5 || r.LeaveMovedRatio > 2.5 {
			t.Errorf("%s: churn %+v", where, r)
		}
		if r.AllocsPerLookup > 0.001 {
			t.Errorf("%s: %v allocations per lookup", where, r.AllocsPerLookup)
		}
		if r.SpacePeakToAvg < 1 {
			t.Errorf("%s: space peak/avg %v", where, r.SpacePeakToAvg)
		}
	case "modulo":
		// Modulo moves about N/(N+1) of all keys on a join: a ratio near N.
		if r.JoinMovedRatio < float64(r.Nodes)/2 {
			t.Errorf("%s: join moved ratio %v, want about %d", where, r.JoinMovedRatio, r.Nodes)
		}
	case "consistent", "bounded":
		if r.LoadFactor != 1.25 {
			t.Errorf("%s: load factor %v", where, r.LoadFactor)
		}
	}
}

// The JSON field names are the documented interface.
func TestRingResultJSONFields(t *testing.T) {
	b, err := json.Marshal(RingResult{Strategy: "bounded", LoadFactor: 1.25, SpacePeakToAvg: 1})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"strategy", "nodes", "vnodes", "keys", "lookup_ns", "allocs_per_lookup", "add_remove_us",
		"build_ms", "bytes_per_vnode", "peak_to_avg", "cv", "join_moved_ratio", "join_moved_between_old_ratio",
		"leave_moved_ratio", "leave_moved_extra", "load_factor", "space_peak_to_avg", "equal_split_peak_to_avg"} {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON lacks field %q: %s", f, b)
		}
	}
}

func TestRunRingRejectsBadOptions(t *testing.T) {
	for _, o := range []RingOptions{{Nodes: []int{1}}, {Keys: 10}, {VNodes: -1}, {LoadFactors: []float64{1}}, {Rounds: -1}} {
		if _, err := RunRing(o); err == nil {
			t.Errorf("RunRing(%+v) accepted bad options", o)
		}
	}
}

// The report directory holds the JSON lines, the targets and well-formed
// SVG charts.
func TestWriteRingReport(t *testing.T) {
	rs, err := RunRing(tinyRingOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WriteRingReport(dir, rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 11 {
		t.Fatalf("wrote %d files: %v", len(files), files)
	}
	lines, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(lines, []byte("\n")); n != len(rs) {
		t.Fatalf("results.jsonl has %d lines, want %d", n, len(rs))
	}
	var checks []TargetCheck
	if b, err := os.ReadFile(filepath.Join(dir, "targets.json")); err != nil || json.Unmarshal(b, &checks) != nil || len(checks) == 0 {
		t.Fatalf("targets.json: %v %d checks", err, len(checks))
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".svg") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := chart.CheckSVG(b); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
}

func TestCheckRingTargets(t *testing.T) {
	rs := []RingResult{
		{Strategy: "ring", Nodes: 10, VNodes: 100, LookupNs: 10, BytesPerVnode: 10, JoinMovedRatio: 1, CV: 0.1, PeakToAvg: 1.05, AddRemoveUs: 1, BuildMs: 1},
		{Strategy: "consistent", Nodes: 10, LoadFactor: 1.25, LookupNs: 40, AddRemoveUs: 50, BuildMs: 500},
		{Strategy: "ring", Nodes: 1000, VNodes: 100, LookupNs: 20, BytesPerVnode: 20, JoinMovedRatio: 1, AddRemoveUs: 10, BuildMs: 1},
		{Strategy: "consistent", Nodes: 1000, LoadFactor: 1.25, LookupNs: 40, AddRemoveUs: 5000, BuildMs: 500},
	}
	got := map[string]bool{}
	for _, c := range CheckRingTargets(rs) {
		got[c.Target] = c.OK
	}
	want := map[string]bool{
		"ring lookup ≥ 3x faster than consistent at 10 nodes":            true,
		"ring lookup ≥ 3x faster than consistent at 1000 nodes":          false,
		"ring ≤ 16 bytes per vnode at 1000 nodes":                        false,
		"ring CV ≤ 1.2/√V at 10 nodes (V=100)":                           true,
		"ring lookup at 1000 nodes ≤ 1.2x its time at 10":                false,
		"ring add+remove ≥ 100x faster than consistent at 1000 nodes":    true,
		"ring build ≥ 100x faster than consistent at 1000 nodes":         true,
		"ring leave moves only the leaver's keys at 10 nodes":            true,
		"ring join moves ≤ 0.02 K/(N+1) between old members at 10 nodes": true,
	}
	for target, ok := range want {
		if g, found := got[target]; !found || g != ok {
			t.Errorf("%s: got %v (found %v), want %v", target, g, found, ok)
		}
	}
}

// The equal-split noise floor is the peak of the keys over exactly equal
// ranges: 1 when the keys are spread evenly, higher when they cluster.
func TestRingEqualSplitPeak(t *testing.T) {
	even := []uint64{0, 1 << 62, 2 << 62, 3 << 62}
	if got := ringEqualSplitPeak(4, even); got != 1 {
		t.Errorf("evenly spread keys: peak %v, want 1", got)
	}
	if got := ringEqualSplitPeak(2, []uint64{0, 1, 2, 1 << 63}); got != 1.5 {
		t.Errorf("three keys in the first half of two: peak %v, want 1.5", got)
	}
}
