package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/placerhq/placer/internal/chart"
)

// ChurnTable lays out a run: one row per scenario, size and scheme.
func ChurnTable(run *ChurnRun) *chart.Table {
	views := run.Options.Views != ""
	bytes := run.Options.StateBytes.Kind != ""
	h := []string{"scenario", "nodes", "scheme", "params", "events", "moved", "ideal", "ratio", "between old", "peak/avg worst", "lookup ns", "rebuild µs p50"}
	if bytes {
		h = append(h, "moved MiB")
	}
	if views {
		h = append(h, "misrouted %", "to dead %", "fwd hops mean", "fwd hops max")
	}
	t := &chart.Table{Header: append(h, "run ms")}
	for _, r := range run.Results {
		row := []string{r.Scenario, fmt.Sprint(r.Nodes), r.Scheme, r.Params, fmt.Sprint(r.Events)}
		if r.Unsupported != "" {
			for len(row) < len(t.Header) {
				row = append(row, "n/a")
			}
			t.Add(row...)
			continue
		}
		row = append(row, fmt.Sprint(r.MovedTotal), fmt.Sprintf("%.0f", r.IdealTotal), fmt.Sprintf("%.3f", r.MovedRatio),
			fmt.Sprint(r.MovedBetweenOld), fmt.Sprintf("%.3f", r.PeakToAvgWorst), fmt1(r.LookupNs), fmt1(r.RebuildUsP50))
		if bytes {
			row = append(row, fmt.Sprintf("%.1f", float64(r.MovedBytes)/(1<<20)))
		}
		if views && r.Views != nil {
			v := r.Views
			row = append(row, fmt.Sprintf("%.4f", 100*v.MisroutedFraction), fmt.Sprintf("%.4f", 100*v.DeadTargetFraction),
				fmt.Sprintf("%.4f", v.ForwardHopsMean), fmt.Sprint(v.ForwardHopsMax))
		}
		t.Add(append(row, fmt.Sprintf("%.0f", r.RunMs))...)
	}
	return t
}

// ChurnRankTable ranks the schemes of each scenario and size on each figure,
// best first: where each scheme wins.
func ChurnRankTable(run *ChurnRun) *chart.Table {
	t := &chart.Table{Header: []string{"scenario", "nodes", "figure (lower is better)", "ranking"}}
	for _, g := range churnGroups(run.Results) {
		for _, f := range churnFigures {
			rs := slices.Clone(g)
			rs = slices.DeleteFunc(rs, func(r ChurnResult) bool { return r.Unsupported != "" })
			slices.SortStableFunc(rs, func(a, b ChurnResult) int { return a.Ranks[f.name] - b.Ranks[f.name] })
			var parts []string
			for _, r := range rs {
				parts = append(parts, fmt.Sprintf("%d. %s %s", r.Ranks[f.name], r.Scheme, chartNum3(f.value(r))))
			}
			t.Add(g[0].Scenario, fmt.Sprint(g[0].Nodes), f.name, strings.Join(parts, "  "))
		}
	}
	return t
}

func chartNum3(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprint(int64(v))
	}
	return fmt.Sprintf("%.3g", v)
}

// churnGroups splits results by scenario and size, in run order.
func churnGroups(rs []ChurnResult) [][]ChurnResult {
	var out [][]ChurnResult
	for i, r := range rs {
		if i == 0 || r.Scenario != rs[i-1].Scenario || r.Nodes != rs[i-1].Nodes {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}

// CheckChurnTargets evaluates the targets of issue 15 on a run: the ring
// moves at most 1.05 × the ideal and nothing between old members in every
// built-in scenario (at the sizes run), and a 1000-node, 1M-key,
// 100-event scenario finishes within 30 s (when one was run).
func CheckChurnTargets(run *ChurnRun) []TargetCheck {
	var out []TargetCheck
	for _, r := range run.Results {
		if r.Scheme != "ring" || !slices.Contains(BuiltinScenarios, r.Scenario) || r.Unsupported != "" {
			continue
		}
		out = append(out, TargetCheck{Target: fmt.Sprintf("ring moved_ratio ≤ 1.05 in %s at %d nodes", r.Scenario, r.Nodes),
			Measured: fmt.Sprintf("%.4f", r.MovedRatio), OK: r.MovedRatio <= 1.05})
		out = append(out, TargetCheck{Target: fmt.Sprintf("ring moves 0 keys between old members in %s at %d nodes", r.Scenario, r.Nodes),
			Measured: fmt.Sprint(r.MovedBetweenOld), OK: r.MovedBetweenOld == 0})
	}
	for _, g := range churnGroups(run.Results) {
		r := g[0]
		if r.Nodes != 1000 || r.Keys != 1_000_000 || r.Events != 100 || len(g) != len(ChurnSchemes) {
			continue
		}
		sec := run.ScenarioSec[fmt.Sprintf("%s@%d", r.Scenario, r.Nodes)]
		out = append(out, TargetCheck{Target: fmt.Sprintf("%s: 1000 nodes, 1M keys, 100 events, every scheme, within 30 s", r.Scenario),
			Measured: fmt.Sprintf("%.1f s", sec), OK: sec <= 30})
	}
	return out
}

// ChurnNotes lists why schemes could not run some scenarios.
func ChurnNotes(run *ChurnRun) []string {
	var out []string
	for _, r := range run.Results {
		if r.Unsupported != "" {
			out = append(out, fmt.Sprintf("n/a: %s in %s at %d nodes: %s", r.Scheme, r.Scenario, r.Nodes, r.Unsupported))
		}
	}
	return out
}

// ChurnCost is the run's own cost, printed under the tables.
func ChurnCost(run *ChurnRun) string {
	return fmt.Sprintf("run time %.1f s, peak memory (VmHWM) %.0f MiB, %d keys", run.RunSeconds, run.PeakRSSMB, run.Options.Keys)
}
