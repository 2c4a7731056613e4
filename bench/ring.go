// Package bench holds placer's reproducible benchmarks and their reports:
// text tables, JSON lines and SVG charts. Nothing in it is needed at run
// time. RunRing measures the placement strategies of package ring side by
// side with github.com/buraksezer/consistent.
package bench

import (
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/ring"
)

// ErrBadConfig: a field of a config or options struct of this package
// (RingOptions, ChurnOptions, ClusterConfig, TransportConfig, NodeConfig)
// is out of range; the wrapping error names it.
//
// Zero values, in every one of them: a zero field means its documented
// default; any other value out of range is refused with ErrBadConfig.
var ErrBadConfig = errors.New("bench: bad config")

// ErrBadOptions is the former name of ErrBadConfig (the same error).
//
// Deprecated: use ErrBadConfig.
var ErrBadOptions = ErrBadConfig

// RingOptions configures RunRing. A zero field takes its default.
type RingOptions struct {
	// Nodes lists the member counts to measure, each in 2..9999.
	// Default 10, 100, 1000.
	Nodes []int
	// Keys is the number of keys placed to measure balance and churn and
	// looked up to time lookups. Default 1,000,000; at least 100.
	Keys int
	// VNodes is ring.Config.VNodes for the ring and bounded strategies.
	// Default ring.DefaultVNodes.
	VNodes int
	// LoadFactors lists the bounded-load factors c; each gives one
	// "bounded" row. Default 1.25 and 1.05.
	LoadFactors []float64
	// Rounds is the number of timed passes over the keys; the median is
	// reported. Default 5.
	Rounds int
	// Budget is how long one build or add+remove measurement repeats (at
	// least once; the median is reported). Default 300ms.
	Budget time.Duration
	// Progress, if set, is called after each step with the number of
	// steps done, the total, and what was measured.
	Progress func(done, total int, what string)
}

// DefaultRingOptions returns the options of `placer bench ring` without
// flags.
func DefaultRingOptions() RingOptions {
	return RingOptions{
		Nodes: []int{10, 100, 1000}, Keys: 1_000_000, VNodes: ring.DefaultVNodes,
		LoadFactors: []float64{1.25, 1.05}, Rounds: 5, Budget: 300 * time.Millisecond,
	}
}

func (o RingOptions) withDefaults() RingOptions {
	d := DefaultRingOptions()
	if len(o.Nodes) == 0 {
		o.Nodes = d.Nodes
	}
	if o.Keys == 0 {
		o.Keys = d.Keys
	}
	if o.VNodes == 0 {
		o.VNodes = d.VNodes
	}
	if len(o.LoadFactors) == 0 {
		o.LoadFactors = d.LoadFactors
	}
	if o.Rounds == 0 {
		o.Rounds = d.Rounds
	}
	if o.Budget == 0 {
		o.Budget = d.Budget
	}
	return o
}

func (o RingOptions) validate() error {
	for _, n := range o.Nodes {
		if n < 2 || n > 9999 {
			return fmt.Errorf("%w: node count %d not in 2..9999", ErrBadConfig, n)
		}
	}
	switch {
	case o.Keys < 100:
		return fmt.Errorf("%w: keys %d < 100", ErrBadConfig, o.Keys)
	case o.VNodes < 1 || o.VNodes > ring.MaxVNodes:
		return fmt.Errorf("%w: vnodes %d not in 1..%d", ErrBadConfig, o.VNodes, ring.MaxVNodes)
	case o.Rounds < 1 || o.Rounds > 1000:
		return fmt.Errorf("%w: rounds %d not in 1..1000", ErrBadConfig, o.Rounds)
	case o.Budget < 0:
		return fmt.Errorf("%w: negative budget", ErrBadConfig)
	}
	for _, c := range o.LoadFactors {
		if !(c > 1 && c <= 10) {
			return fmt.Errorf("%w: load factor %v not in (1, 10]", ErrBadConfig, c)
		}
	}
	return nil
}

// RingResult is one strategy at one member count. The JSON field names are
// a stable interface (docs/ring.md).
type RingResult struct {
	Strategy   string  `json:"strategy"`              // ring, bounded, consistent, modulo
	Nodes      int     `json:"nodes"`                 // members
	VNodes     int     `json:"vnodes"`                // points per member (consistent: ReplicationFactor; modulo: 1)
	LoadFactor float64 `json:"load_factor,omitempty"` // c (bounded, consistent)
	Keys       int     `json:"keys"`                  // keys placed

	LookupNs        float64 `json:"lookup_ns"`         // median ns per Locate over the keys
	AllocsPerLookup float64 `json:"allocs_per_lookup"` // heap allocations per Locate
	AddRemoveUs     float64 `json:"add_remove_us"`     // median µs to add one member and remove it
	BuildMs         float64 `json:"build_ms"`          // median ms to build from Nodes members
	BytesPerVnode   float64 `json:"bytes_per_vnode"`   // retained heap / (Nodes × VNodes)

	PeakToAvg      float64 `json:"peak_to_avg"`                 // most keys on one member / mean
	CV             float64 `json:"cv"`                          // std dev / mean of keys per member
	SpacePeakToAvg float64 `json:"space_peak_to_avg,omitempty"` // same as PeakToAvg over exact hash-space shares
	EqualSplitPeak float64 `json:"equal_split_peak_to_avg"`     // PeakToAvg of the same keys over Nodes exactly equal hash ranges: the sampling noise floor

	JoinMovedRatio           float64 `json:"join_moved_ratio"`             // keys moved by one join / (K/(N+1))
	JoinMovedBetweenOldRatio float64 `json:"join_moved_between_old_ratio"` // of those, moved to an old member / (K/(N+1))
	LeaveMovedRatio          float64 `json:"leave_moved_ratio"`            // keys moved by one leave / (K/N)
	LeaveMovedExtra          int     `json:"leave_moved_extra"`            // keys moved by a leave that the leaver did not own
}

// RunRing measures every strategy at every member count in o.Nodes: ring,
// one bounded per load factor, consistent (buraksezer/consistent v0.10.0
// with PartitionCount 7919, ReplicationFactor 20, Load 1.25 and the XXH64
// hasher) and modulo. It runs in the calling goroutine.
func RunRing(o RingOptions) ([]RingResult, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	subjects := ringSubjectList(o)
	total := 1 + len(o.Nodes)*len(subjects)*ringStepsPerSubject
	p := ringProgress{fn: o.Progress, total: total}
	keys, hashes := ringKeys(o.Keys)
	p.step("keys")
	var out []RingResult
	for _, n := range o.Nodes {
		for _, s := range subjects {
			r, err := ringMeasure(s, n, keys, hashes, o, &p)
			if err != nil {
				return out, fmt.Errorf("bench: %s at %d nodes: %w", s.name(), n, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

type ringProgress struct {
	fn          func(done, total int, what string)
	done, total int
}

func (p *ringProgress) step(what string) {
	p.done++
	if p.fn != nil {
		p.fn(p.done, p.total, what)
	}
}

// ringKeys returns k keys ("key-<i>", in one backing array) and their hashes.
func ringKeys(k int) ([][]byte, []uint64) {
	buf := make([]byte, 0, k*12)
	keys := make([][]byte, k)
	hashes := make([]uint64, k)
	for i := range keys {
		start := len(buf)
		buf = fmt.Appendf(buf, "key-%d", i)
		keys[i] = buf[start:len(buf):len(buf)]
	}
	for i, key := range keys {
		hashes[i] = ring.Hash(key)
	}
	return keys, hashes
}

// memberNames are fixed-width ("node-0042") so that no strategy's vnode key
// format is ambiguous (buraksezer/consistent appends the replica number to
// the name without a separator: "node-1"+"10" = "node-11"+"0").
func ringMemberName(i int) string { return fmt.Sprintf("node-%04d", i) }

func ringMembers(n int) []ring.Member {
	ms := make([]ring.Member, n)
	for i := range ms {
		ms[i] = ring.Member{Name: ringMemberName(i), Weight: 1}
	}
	return ms
}

// ringCounts returns keys per member (every member listed, even with 0).
func ringCounts(ms []ring.Member, owners []string) []int {
	idx := make(map[string]int, len(ms))
	for i, m := range ms {
		idx[m.Name] = i
	}
	out := make([]int, len(ms))
	for _, o := range owners {
		if i, ok := idx[o]; ok {
			out[i]++
		}
	}
	return out
}
