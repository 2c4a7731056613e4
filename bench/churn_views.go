package bench

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/placerhq/placer/internal/chart"
	"github.com/placerhq/placer/placement/membership"
)

// ViewsResult is what --views predicts: the nodes of a cluster learn of each
// change at different times (a push gossip), so for a while some of them
// route a moved key by the old owner. Fractions are of every request over
// the scenario (events --interval apart); hops are forwards after the first
// send.
type ViewsResult struct {
	Profile             string  `json:"profile"`               // lan or local (Serf timing, docs/membership.md)
	Requests            int     `json:"requests"`              // requests simulated while views disagreed
	WindowFraction      float64 `json:"window_fraction"`       // share of the scenario's time during which views disagreed
	MisroutedFraction   float64 `json:"misrouted_fraction"`    // requests first sent to a node that no longer owns the key
	DeadTargetFraction  float64 `json:"dead_target_fraction"`  // of which: sent to a node that is gone
	StaleServedFraction float64 `json:"stale_served_fraction"` // served by a node that does not own the key any more
	ForwardHopsMean     float64 `json:"forward_hops_mean"`     // forwards per request
	ForwardHopsMax      int     `json:"forward_hops_max"`
	SpreadMsP50         float64 `json:"spread_ms_p50"` // until every node knows an event, median over events
	SpreadMsMax         float64 `json:"spread_ms_max"`
}

// Dissemination model. memberlist gossips each broadcast to gossipFanout
// random members every gossip interval, and every member retransmits it for
// retransmitMult × ceil(log10(n+1)) rounds (lan: 4, local: 6; fan-out 3 in
// both: docs/membership.md); members the push misses learn at the next
// push/pull, a uniform time within its interval. A joiner, a leaver and a
// re-weighted member know their own change at once; a failure is first
// noticed after the profile's typical detection time (ProfileTiming, less
// the two gossip rounds it includes).
const (
	gossipFanout = 3
	maxForwards  = 4 // placement forwards a request at most this often
)

func retransmitMult(profile string) int {
	if profile == "local" {
		return 6
	}
	return 4
}

// viewsEvent is what one event leaves for the request simulation.
type viewsEvent struct {
	at, window      float64   // start (s) and how long views disagree (capped at the next event)
	delays          []float64 // per surviving member: when it learns (s after at)
	moved, fromGone int64
	toNew           int64
}

type viewsRecorder struct {
	o      ChurnOptions
	timing membership.Timing
	rng    *rand.Rand
	events []viewsEvent
	keys   int
}

func newViewsRecorder(o ChurnOptions, s Scenario, keys int) *viewsRecorder {
	if o.Views == "" {
		return nil
	}
	tm, err := membership.ProfileTiming(o.Views, max(1, len(s.Initial)))
	if err != nil {
		panic("bench: broken invariant: validated views profile refused: " + err.Error())
	}
	return &viewsRecorder{o: o, timing: tm, rng: rand.New(rand.NewPCG(o.Seed, 0x7669657773)), keys: keys}
}

// record notes one event: its moves by kind, and when each member learns.
func (v *viewsRecorder) record(ev ChurnEvent, t *tally, members int) {
	if v == nil {
		return
	}
	failed := slices.ContainsFunc(ev.Changes, func(c ChurnChange) bool { return c.Fail })
	d := v.spread(members, failed)
	v.events = append(v.events, viewsEvent{at: ev.At, delays: d, moved: t.moved, fromGone: t.fromGone, toNew: t.toNew, window: slices.Max(d)})
}

// spread simulates one push gossip over n members and returns when each
// learns, in seconds.
func (v *viewsRecorder) spread(n int, failed bool) []float64 {
	g := v.timing.GossipInterval.Seconds()
	start := 0.0
	if failed {
		start = max(0, (v.timing.FailureTypical - 2*v.timing.GossipInterval).Seconds())
	}
	d := make([]float64, max(n, 1))
	for i := range d {
		d[i] = math.Inf(1)
	}
	d[0] = start // the originator
	limit := retransmitMult(v.o.Views) * int(math.Ceil(math.Log10(float64(n+1))))
	type sender struct{ node, from int } // retransmits in rounds from..from+limit-1
	senders := []sender{{0, 1}}
	for round := 1; len(senders) > 0; round++ {
		var next []sender
		for _, s := range senders {
			for range gossipFanout {
				if dst := v.rng.IntN(len(d)); math.IsInf(d[dst], 1) {
					d[dst] = start + (float64(round)-v.rng.Float64())*g // timers are not in step
					next = append(next, sender{dst, round + 1})
				}
			}
			if round+1 < s.from+limit {
				next = append(next, s)
			}
		}
		senders = next
	}
	pp := v.timing.PushPullInterval.Seconds()
	for i := range d {
		if math.IsInf(d[i], 1) {
			d[i] = start + float64(limit)*g + v.rng.Float64()*pp
		}
	}
	return d
}

// result simulates the requests: during each event's window, a request is
// for a moved key with probability moved/keys; its source, old and new
// owner learn at their simulated times.
func (v *viewsRecorder) result(total float64) *ViewsResult {
	if v == nil {
		return nil
	}
	r := &ViewsResult{Profile: v.o.Views}
	var spread []float64
	window := 0.0
	for i := range v.events {
		e := &v.events[i]
		spread = append(spread, e.window*1e3)
		if i+1 < len(v.events) {
			e.window = min(e.window, v.events[i+1].at-e.at)
		}
		window += e.window
	}
	r.SpreadMsP50, r.SpreadMsMax = chart.Median(spread), slices.Max(append(spread, 0))
	if window <= 0 {
		return r
	}
	var mis, dead, stale, hops float64
	for range v.o.Requests {
		e := v.pickEvent(window)
		m, d, s, h := v.request(e)
		mis, dead, stale, hops = mis+m, dead+d, stale+s, hops+float64(h)
		r.ForwardHopsMax = max(r.ForwardHopsMax, h)
	}
	scale := window / total / float64(v.o.Requests)
	r.Requests, r.WindowFraction = v.o.Requests, window/total
	r.MisroutedFraction, r.DeadTargetFraction, r.StaleServedFraction, r.ForwardHopsMean = mis*scale, dead*scale, stale*scale, hops*scale
	return r
}

// pickEvent draws an event with probability proportional to its window.
func (v *viewsRecorder) pickEvent(window float64) *viewsEvent {
	x := v.rng.Float64() * window
	for i := range v.events {
		if x -= v.events[i].window; x < 0 || i == len(v.events)-1 {
			return &v.events[i]
		}
	}
	return &v.events[len(v.events)-1]
}

// request routes one request at a uniform moment of e's window and reports
// whether it was misrouted, sent to a gone node, served stale, and its
// forwards.
func (v *viewsRecorder) request(e *viewsEvent) (mis, dead, stale float64, hops int) {
	if e.moved == 0 || v.rng.Float64()*float64(v.keys) >= float64(e.moved) {
		return 0, 0, 0, 0 // the key did not move in this event: every view agrees
	}
	tau := v.rng.Float64() * e.window
	knows := func() bool { return e.delays[v.rng.IntN(len(e.delays))] <= tau }
	x := v.rng.Int64N(e.moved)
	oldGone, newKnows := x < e.fromGone, x >= e.fromGone && x < e.fromGone+e.toNew
	if knows() {
		return 0, 0, 0, 0 // the source sends to the new owner
	}
	if oldGone {
		return 1, 1, 0, 0
	}
	oldKnows, nw := knows(), newKnows || knows()
	// The old owner serves (stale) until it learns, then forwards; a new
	// owner that has not learned forwards back: ping-pong up to the limit.
	if !oldKnows {
		return 1, 0, 1, 0
	}
	if nw {
		return 1, 0, 0, 1
	}
	return 1, 0, 1, maxForwards
}
