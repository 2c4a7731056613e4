package bench

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/placerhq/placer/internal/chart"
	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/ring"
)

// runScenario runs one scenario through every scheme of o.
func runScenario(o ChurnOptions, s Scenario, ks *keySet, p *ringProgress) ([]ChurnResult, error) {
	reg := newRegistry(s)
	var out []ChurnResult
	for _, name := range o.Schemes {
		tr, params := newTracker(name, o, s, ks, reg)
		res := ChurnResult{Scheme: name, Params: params, Scenario: s.Name, Nodes: len(s.Initial), Keys: len(ks.hashes), Events: len(s.Events)}
		t0 := time.Now()
		err := runScheme(&res, tr, o, s, ks, reg, p)
		res.RunMs = float64(time.Since(t0).Microseconds()) / 1e3
		if err != nil {
			if !schemeLimit(err) {
				return out, fmt.Errorf("bench: %s in %s at %d nodes: %w", name, s.Name, len(s.Initial), err)
			}
			res = ChurnResult{Scheme: name, Params: params, Scenario: s.Name, Nodes: len(s.Initial), Keys: len(ks.hashes),
				Events: len(s.Events), Unsupported: err.Error(), RunMs: res.RunMs}
		}
		out = append(out, res)
		runtime.GC() // drop the scheme's per-key state before the next
	}
	return out, nil
}

// schemeLimit reports whether err is a limit of the scheme (reported in its
// row) rather than a failure of the benchmark.
func schemeLimit(err error) bool {
	return errors.Is(err, errUnsupported) || errors.Is(err, schemes.ErrNoRoom) || errors.Is(err, schemes.ErrPanic) || errors.Is(err, ring.ErrTooLarge)
}

// newTracker returns the tracker of a scheme and a label of its parameters.
func newTracker(name string, o ChurnOptions, s Scenario, ks *keySet, reg *registry) (churnTracker, string) {
	switch name {
	case "ring":
		return &ringTracker{cfg: ring.Config{VNodes: o.VNodes}, ks: ks, reg: reg}, fmt.Sprintf("V=%d", o.VNodes)
	case "bounded":
		cfg := ring.DefaultBoundedConfig()
		cfg.Ring.VNodes, cfg.LoadFactor = o.VNodes, o.LoadFactor
		return &boundedTracker{cfg: cfg, ks: ks, reg: reg}, fmt.Sprintf("V=%d c=%g P=2^%d", o.VNodes, o.LoadFactor, cfg.PartitionBits)
	case "consistent":
		cfg := schemes.DefaultConsistentConfig()
		return &consistentTracker{cfg: cfg, ks: ks, reg: reg}, fmt.Sprintf("P=%d R=%d c=%g", cfg.PartitionCount, cfg.ReplicationFactor, cfg.Load)
	case "modulo":
		return &moduloTracker{ks: ks, reg: reg}, ""
	case "jump":
		return &jumpTracker{ks: ks, reg: reg}, "remap table"
	case "rendezvous":
		return &hrwTracker{ks: ks, reg: reg}, ""
	case "maglev":
		m := o.MaglevSize
		if m == 0 {
			m = schemes.NextPrime(max(65537, 100*maxWeight(s)))
		}
		return &maglevTracker{cfg: schemes.MaglevConfig{TableSize: m}, ks: ks, reg: reg}, fmt.Sprintf("M=%d", m)
	}
	cfg := schemes.MultiProbeConfig{Probes: o.Probes}
	return &probeTracker{cfg: cfg, ks: ks, reg: reg}, fmt.Sprintf("k=%d", o.Probes)
}

// maxWeight returns the most total weight the scenario's members reach.
func maxWeight(s Scenario) int {
	ws := weights{}
	for _, m := range s.Initial {
		ws[m.Name] = m.Weight
	}
	top := ws.total()
	for _, ev := range s.Events {
		ws.apply(ev.Changes)
		top = max(top, ws.total())
	}
	return top
}

// runScheme places the keys, times lookups, then runs every event.
func runScheme(res *ChurnResult, tr churnTracker, o ChurnOptions, s Scenario, ks *keySet, reg *registry, p *ringProgress) error {
	t := newTally(len(reg.names))
	if err := tr.start(s.Initial, t); err != nil {
		return err
	}
	ws := weights{}
	for _, m := range s.Initial {
		ws[m.Name] = m.Weight
	}
	res.LookupNs = timeChurnLookups(tr, min(len(ks.hashes), 1<<14))
	res.Timeline = []ChurnStep{{PeakToAvg: peakToAvg(t, reg, ws, len(ks.hashes))}}
	p.step(fmt.Sprintf("%s %s n=%d", res.Scheme, s.Name, len(s.Initial)))
	vw := newViewsRecorder(o, s, len(ks.hashes))
	var rebuild []float64
	for i, ev := range s.Events {
		before := maps2(ws)
		ws.apply(ev.Changes)
		if len(ws) == 0 {
			return fmt.Errorf("%w: event %d", errNoMembers, i+1)
		}
		t.begin(reg, ev)
		if err := tr.apply(changesOf(ev), t); err != nil {
			return err
		}
		vw.record(ev, t, len(ws))
		rebuild = append(rebuild, float64(t.rebuildNs)/1e3)
		res.Timeline = append(res.Timeline, res.step(i+1, ev, t, idealMoved(before, ws, len(ks.hashes)), peakToAvg(t, reg, ws, len(ks.hashes))))
		p.step(fmt.Sprintf("%s %s n=%d", res.Scheme, s.Name, len(s.Initial)))
	}
	res.finish(rebuild)
	if len(s.Events) > 0 {
		res.Views = vw.result(s.Events[len(s.Events)-1].At + o.Interval)
	}
	return nil
}

func maps2(w weights) weights {
	c := make(weights, len(w))
	for k, v := range w {
		c[k] = v
	}
	return c
}

func changesOf(ev ChurnEvent) []ring.Change {
	cs := make([]ring.Change, len(ev.Changes))
	for i, c := range ev.Changes {
		cs[i] = c.Change
	}
	return cs
}

// step records one event into the totals and returns its timeline entry.
func (res *ChurnResult) step(i int, ev ChurnEvent, t *tally, ideal, peak float64) ChurnStep {
	res.MovedTotal += t.moved
	res.IdealTotal += ideal
	res.MovedBetweenOld += t.betweenOld
	res.MovedBytes += t.movedBytes
	res.PeakToAvgWorst = max(res.PeakToAvgWorst, peak)
	res.PeakToAvgFinal = peak
	return ChurnStep{Event: i, Label: ev.Label, Moved: t.moved, Ideal: ideal, BetweenOld: t.betweenOld,
		CumMoved: res.MovedTotal, CumIdeal: res.IdealTotal, PeakToAvg: peak, MovedBytes: t.movedBytes, RebuildUs: float64(t.rebuildNs) / 1e3}
}

func (res *ChurnResult) finish(rebuild []float64) {
	if res.IdealTotal > 0 {
		res.MovedRatio = float64(res.MovedTotal) / res.IdealTotal
	}
	res.RebuildUsP50 = chart.Median(rebuild)
	if len(rebuild) > 0 {
		res.RebuildUsMax = slices.Max(rebuild)
	}
}

// timeChurnLookups returns the median ns per lookup over passes of 1024
// keys each (cycling through the first n keys), repeated for about 40 ms:
// at least 5 passes, at most 256. Many short passes let the median drop the
// ones another process interrupted.
func timeChurnLookups(tr churnTracker, n int) float64 {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = keyName(nil, i)
	}
	const pass = 1024
	var per []float64
	sink := 0
	start := time.Now()
	for p := 0; p < 5 || (time.Since(start) < 40*time.Millisecond && p < 256); p++ {
		lo := (p * pass) % n
		batch := keys[lo:min(lo+pass, n)]
		t0 := time.Now()
		for _, k := range batch {
			sink += len(tr.locate(k))
		}
		per = append(per, float64(time.Since(t0).Nanoseconds())/float64(len(batch)))
	}
	if sink < 0 {
		panic("unreachable: sink keeps the lookups alive")
	}
	return chart.Median(per)
}

func memSys() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys
}

// rankChurn ranks the schemes of one scenario on each figure (1 = best;
// equal values share a rank; unsupported rows get none).
func rankChurn(rs []ChurnResult) {
	for _, f := range churnFigures {
		var vals []float64
		for _, r := range rs {
			if r.Unsupported == "" {
				vals = append(vals, f.value(r))
			}
		}
		for i := range rs {
			if rs[i].Unsupported != "" {
				continue
			}
			if rs[i].Ranks == nil {
				rs[i].Ranks = map[string]int{}
			}
			v, rank := f.value(rs[i]), 1
			for _, x := range vals {
				if x < v {
					rank++
				}
			}
			rs[i].Ranks[f.name] = rank
		}
	}
}

// churnFigure is one figure the report ranks on: lower is better.
type churnFigure struct {
	name  string
	value func(ChurnResult) float64
}

var churnFigures = []churnFigure{
	{"moved_ratio", func(r ChurnResult) float64 { return r.MovedRatio }},
	{"moved_between_old", func(r ChurnResult) float64 { return float64(r.MovedBetweenOld) }},
	{"peak_to_avg_worst", func(r ChurnResult) float64 { return r.PeakToAvgWorst }},
	{"lookup_ns", func(r ChurnResult) float64 { return r.LookupNs }},
	{"rebuild_us_p50", func(r ChurnResult) float64 { return r.RebuildUsP50 }},
}
