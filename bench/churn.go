package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/ring"
)

// ChurnSchemes lists the schemes `placer bench churn` compares, in report
// order.
var ChurnSchemes = []string{"ring", "bounded", "consistent", "modulo", "jump", "rendezvous", "maglev", "multiprobe"}

// ChurnOptions configures RunChurn. A zero field takes its default.
type ChurnOptions struct {
	Nodes     []int    // initial member counts, each 2..10000; default 100
	Keys      int      // keys placed, 100..50,000,000; default 1,000,000
	Scenarios []string // built-in names or scenario files; default every built-in
	Schemes   []string // default ChurnSchemes

	VNodes     int     // ring and bounded: points per unit of weight; default ring.DefaultVNodes
	LoadFactor float64 // bounded: c; default 1.25
	MaglevSize int     // maglev: table size (prime); default the first prime ≥ max(65537, 100 × the most weight a scenario reaches)
	Probes     int     // multiprobe: probes per key; default 21

	Events   int     // random: events; default 100
	Flaps    int     // flapping: leave+join cycles; default 50
	Seed     uint64  // random: seed; default 1
	Drain    int     // reweight: the drained host's starting weight; default 4
	Interval float64 // seconds between events (--views); default 10

	StateBytes StateBytes // bytes of state per key (none by default)

	Views    string // "" (off), "lan" or "local": model gossip dissemination
	Requests int    // --views: requests sampled per scheme and scenario; default 200,000

	// Progress, if set, is called after each step.
	Progress func(done, total int, what string)
	// Open opens a scenario file; default os.Open.
	Open func(name string) (io.ReadCloser, error)
}

// DefaultChurnOptions returns the options of `placer bench churn` without
// flags.
func DefaultChurnOptions() ChurnOptions {
	return ChurnOptions{
		Nodes: []int{100}, Keys: 1_000_000, Scenarios: BuiltinScenarios, Schemes: ChurnSchemes,
		VNodes: ring.DefaultVNodes, LoadFactor: 1.25, Probes: 21,
		Events: 100, Flaps: 50, Seed: 1, Drain: 4, Interval: 10, Requests: 200_000,
	}
}

func (o ChurnOptions) withDefaults() ChurnOptions {
	d := DefaultChurnOptions()
	pick := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	if len(o.Nodes) == 0 {
		o.Nodes = d.Nodes
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = d.Scenarios
	}
	if len(o.Schemes) == 0 {
		o.Schemes = d.Schemes
	}
	pick(&o.Keys, d.Keys)
	pick(&o.VNodes, d.VNodes)
	pick(&o.Probes, d.Probes)
	pick(&o.Events, d.Events)
	pick(&o.Flaps, d.Flaps)
	pick(&o.Drain, d.Drain)
	pick(&o.Requests, d.Requests)
	if o.LoadFactor == 0 {
		o.LoadFactor = d.LoadFactor
	}
	if o.Seed == 0 {
		o.Seed = d.Seed
	}
	if o.Interval == 0 {
		o.Interval = d.Interval
	}
	if o.Open == nil {
		o.Open = func(name string) (io.ReadCloser, error) { return os.Open(name) }
	}
	return o
}

func (o ChurnOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
	}
	for _, n := range o.Nodes {
		if n < 2 || n > 10000 {
			return bad("node count %d not in 2..10000", n)
		}
	}
	for _, s := range o.Schemes {
		if !slices.Contains(ChurnSchemes, s) {
			return bad("unknown scheme %q (want some of %s)", s, strings.Join(ChurnSchemes, ","))
		}
	}
	switch {
	case o.Keys < 100 || o.Keys > 50_000_000:
		return bad("keys %d not in 100..50000000", o.Keys)
	case o.VNodes < 1 || o.VNodes > ring.MaxVNodes:
		return bad("vnodes %d not in 1..%d", o.VNodes, ring.MaxVNodes)
	case !(o.LoadFactor > 1 && o.LoadFactor <= 10):
		return bad("load factor %v not in (1, 10]", o.LoadFactor)
	case o.MaglevSize != 0 && (!schemes.IsPrime(o.MaglevSize) || o.MaglevSize > schemes.MaxMaglevTable):
		return bad("maglev table size %d is not a prime ≤ %d", o.MaglevSize, schemes.MaxMaglevTable)
	case o.Probes < 1 || o.Probes > schemes.MaxProbes:
		return bad("probes %d not in 1..%d", o.Probes, schemes.MaxProbes)
	case o.Events < 1 || o.Events > 100_000, o.Flaps < 1 || o.Flaps > 100_000:
		return bad("events %d and flaps %d must be in 1..100000", o.Events, o.Flaps)
	case o.Drain < 1 || o.Drain > ring.MaxWeight:
		return bad("drain weight %d not in 1..%d", o.Drain, ring.MaxWeight)
	case !(o.Interval > 0) || math.IsInf(o.Interval, 0):
		return bad("interval %v must be > 0", o.Interval)
	case o.Views != "" && o.Views != "lan" && o.Views != "local":
		return bad("views %q: want lan or local", o.Views)
	case o.Requests < 1 || o.Requests > 100_000_000:
		return bad("requests %d not in 1..100000000", o.Requests)
	}
	return nil
}

// ChurnResult is one scheme through one scenario. The JSON field names are
// a stable interface (docs/churn.md).
type ChurnResult struct {
	Scheme   string `json:"scheme"`
	Params   string `json:"params,omitempty"` // the scheme's parameters, e.g. "V=1024"
	Scenario string `json:"scenario"`
	Nodes    int    `json:"nodes"` // members at the start
	Keys     int    `json:"keys"`
	Events   int    `json:"events"`

	MovedTotal      int64   `json:"moved_total"`       // keys whose owner changed, summed over the events
	IdealTotal      float64 `json:"ideal_total"`       // the fewest any placement keeping exact shares must move
	MovedRatio      float64 `json:"moved_ratio"`       // moved_total / ideal_total
	MovedBetweenOld int64   `json:"moved_between_old"` // moved between members the event did not change
	PeakToAvgWorst  float64 `json:"peak_to_avg_worst"` // most loaded member / its share, worst after any event
	PeakToAvgFinal  float64 `json:"peak_to_avg_final"` // the same after the last event
	LookupNs        float64 `json:"lookup_ns"`         // ns per lookup of a key, at the start
	RebuildUsP50    float64 `json:"rebuild_us_p50"`    // the scheme's own update per event, median
	RebuildUsMax    float64 `json:"rebuild_us_max"`
	MovedBytes      int64   `json:"moved_bytes_total,omitempty"` // with --state-bytes: state handed off
	RunMs           float64 `json:"run_ms"`                      // this scheme through this scenario, counting included

	Unsupported string         `json:"unsupported,omitempty"` // why the scheme could not run it
	Ranks       map[string]int `json:"ranks,omitempty"`       // 1 = best among the schemes of this scenario
	Views       *ViewsResult   `json:"views,omitempty"`       // --views

	Timeline []ChurnStep `json:"-"` // per event, for the charts (--out writes it)
}

// ChurnStep is the state after one event (event 0: the initial placement).
type ChurnStep struct {
	Event      int     `json:"event"`
	Label      string  `json:"label,omitempty"`
	Moved      int64   `json:"moved"`
	Ideal      float64 `json:"ideal"`
	BetweenOld int64   `json:"between_old"`
	CumMoved   int64   `json:"cum_moved"`
	CumIdeal   float64 `json:"cum_ideal"`
	PeakToAvg  float64 `json:"peak_to_avg"`
	MovedBytes int64   `json:"moved_bytes,omitempty"`
	RebuildUs  float64 `json:"rebuild_us"`
}

// ChurnRun is a whole run: the results, and what the run cost.
type ChurnRun struct {
	Results     []ChurnResult
	RunSeconds  float64            // wall time of RunChurn
	PeakRSSMB   float64            // the process's peak resident memory (VmHWM), MiB
	ScenarioSec map[string]float64 // per "scenario@nodes": every scheme, counting included
	Options     ChurnOptions
}

// RunChurn runs every scenario at every node count through every scheme.
func RunChurn(o ChurnOptions) (*ChurnRun, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	run := &ChurnRun{ScenarioSec: map[string]float64{}, Options: o}
	ks := newKeySet(o.Keys, o.StateBytes)
	var scs [][]Scenario
	total := 0
	for _, n := range o.Nodes {
		list, err := o.scenarios(n)
		if err != nil {
			return nil, err
		}
		scs = append(scs, list)
		for _, s := range list {
			total += len(o.Schemes) * (len(s.Events) + 1)
		}
	}
	p := ringProgress{fn: o.Progress, total: total}
	for _, list := range scs {
		for _, s := range list {
			t0 := time.Now()
			rs, err := runScenario(o, s, ks, &p)
			if err != nil {
				return run, err
			}
			rankChurn(rs)
			run.Results = append(run.Results, rs...)
			run.ScenarioSec[fmt.Sprintf("%s@%d", s.Name, len(s.Initial))] = time.Since(t0).Seconds()
		}
	}
	run.RunSeconds = time.Since(start).Seconds()
	run.PeakRSSMB = peakRSSMB()
	return run, nil
}

// scenarios builds the scenarios for an initial size of n.
func (o ChurnOptions) scenarios(n int) ([]Scenario, error) {
	p := ScenarioParams{Nodes: n, Events: o.Events, Flaps: o.Flaps, Seed: o.Seed, Interval: o.Interval, Drain: o.Drain}
	var out []Scenario
	for _, name := range o.Scenarios {
		if slices.Contains(BuiltinScenarios, name) {
			s, err := BuiltinScenario(name, p)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			continue
		}
		f, err := o.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is neither a built-in scenario (%s) nor a readable file: %v", ErrBadScenario, name, strings.Join(BuiltinScenarios, ", "), err)
		}
		s, err := ParseScenario(name, f, churnMembers(n), o.Interval)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// peakRSSMB returns the process's peak resident set (VmHWM) in MiB, or the
// memory obtained from the OS by the Go runtime where /proc is missing.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				var kb float64
				if _, err := fmt.Sscan(f[1], &kb); err == nil {
					return kb / 1024
				}
			}
		}
	}
	return float64(memSys()) / (1 << 20)
}

var errNoMembers = errors.New("bench: a scenario may not remove every member")
