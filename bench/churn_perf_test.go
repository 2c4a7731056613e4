package bench

import (
	"os"
	"testing"
)

// TestChurnBig is the 1000-node, 1M-key, 100-event run, when asked for.
func TestChurnBig(t *testing.T) {
	if os.Getenv("PLACER_CHURN_BIG") == "" {
		t.Skip("set PLACER_CHURN_BIG=1 to run the 1000-node 1M-key run")
	}
	o := DefaultChurnOptions()
	o.Nodes, o.Scenarios = []int{1000}, []string{"random"}
	run, err := RunChurn(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range run.Results {
		t.Logf("%-10s run %7.0f ms ratio %.3f old %d peak %.3f lookup %.0f ns rebuild %.0f µs %s", r.Scheme, r.RunMs, r.MovedRatio, r.MovedBetweenOld, r.PeakToAvgWorst, r.LookupNs, r.RebuildUsP50, r.Unsupported)
	}
	t.Logf("run %.1f s, peak RSS %.0f MiB", run.RunSeconds, run.PeakRSSMB)
}
