package bench

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/placerhq/placer/internal/par"
	"github.com/placerhq/placer/internal/schemes"
	"github.com/placerhq/placer/ring"
)

// keyOwners keeps each key's owner for the schemes that have no ranges, and
// the owner each key had when the event began, so that a key that moves
// twice in one event (or back) is counted once (or not at all).
type keyOwners struct {
	owner   []int32
	stamp   []uint32 // event number in which the key was last touched
	touched []int32
	orig    []int32
	event   uint32
}

func newKeyOwners(k int) keyOwners {
	return keyOwners{owner: make([]int32, k), stamp: make([]uint32, k), event: 1}
}

// scan runs f over every key in chunks on every processor; f reports new
// owners through set. Chunks hold disjoint keys: per-key state needs no
// lock, and each chunk's record of touched keys is merged at its end.
func (o *keyOwners) scan(f func(lo, hi int, set func(k int, owner int32))) {
	var mu sync.Mutex
	forChunks(len(o.owner), func(lo, hi int) {
		var touched, orig []int32
		f(lo, hi, func(k int, owner int32) {
			if o.stamp[k] != o.event {
				o.stamp[k] = o.event
				touched = append(touched, int32(k))
				orig = append(orig, o.owner[k])
			}
			o.owner[k] = owner
		})
		mu.Lock()
		o.touched, o.orig = append(o.touched, touched...), append(o.orig, orig...)
		mu.Unlock()
	})
}

// flush reports the keys whose owner differs from the event's start.
func (o *keyOwners) flush(ks *keySet, t *tally) {
	for i, k := range o.touched {
		t.move(o.orig[i], o.owner[k], 1, ks.keyBytes(int(k)))
	}
	o.touched, o.orig = o.touched[:0], o.orig[:0]
	o.event++
}

// place reports the initial owners.
func (o *keyOwners) place(ks *keySet, t *tally) {
	for k, owner := range o.owner {
		t.move(-1, owner, 1, ks.keyBytes(k))
	}
}

// forChunks runs f over [0, n) in chunks on every processor.
func forChunks(n int, f func(lo, hi int)) {
	const chunk = 1 << 14
	_ = par.ForEach(context.Background(), (n+chunk-1)/chunk, runtime.GOMAXPROCS(0), func(c int) error {
		f(c*chunk, min(n, (c+1)*chunk))
		return nil
	})
}

// ---- jump: per key its bucket and the bucket it jumps to next ----

type jumpTracker struct {
	j       *schemes.Jump
	buckets []int32  // bucket -> member number
	cur     []uint32 // per key: bucket
	next    []uint32 // per key: JumpNext's next (capped)
	own     keyOwners
	ks      *keySet
	reg     *registry
}

func (x *jumpTracker) start(ms []ring.Member, t *tally) error {
	j, err := schemes.NewJump(ms...)
	if err != nil {
		return err
	}
	x.j = j
	for _, name := range j.Buckets() {
		x.buckets = append(x.buckets, x.reg.of(name))
	}
	k := len(x.ks.hashes)
	x.cur, x.next, x.own = make([]uint32, k), make([]uint32, k), newKeyOwners(k)
	forChunks(k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x.rehash(i)
		}
	})
	x.own.place(x.ks, t)
	return nil
}

// rehash computes key i's bucket and owner for the current table.
func (x *jumpTracker) rehash(i int) {
	b, next := schemes.JumpNext(x.ks.hashes[i], len(x.buckets))
	x.cur[i], x.next[i] = uint32(b), uint32(min(next, 1<<32-1))
	x.own.owner[i] = x.buckets[b]
}

func (x *jumpTracker) apply(cs []ring.Change, t *tally) error {
	t0 := time.Now()
	n, err := x.j.With(cs...)
	if err != nil {
		return err
	}
	t.since(t0)
	ws := map[string]int{}
	for _, m := range x.j.Members() {
		ws[m.Name] = m.Weight
	}
	for _, c := range cs {
		before := ws[c.Member.Name]
		after := before
		switch c.Op {
		case ring.OpAdd, ring.OpSetWeight:
			after = c.Member.Weight
		case ring.OpRemove:
			after = 0
		}
		ws[c.Member.Name] = after
		x.change(c.Member.Name, before, after)
	}
	x.j = n.(*schemes.Jump)
	x.own.flush(x.ks, t)
	return nil
}

// change grows or shrinks one member's buckets, key by key.
func (x *jumpTracker) change(name string, before, after int) {
	id := x.reg.of(name)
	if after > before {
		for range after - before {
			x.buckets = append(x.buckets, id)
		}
		x.grow()
		return
	}
	for range before - after {
		x.drop(lastOf(x.buckets, id))
	}
}

func lastOf(b []int32, id int32) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == id {
			return i
		}
	}
	return -1
}

// grow moves the keys that jump into the new buckets.
func (x *jumpTracker) grow() {
	n := uint32(len(x.buckets))
	x.own.scan(func(lo, hi int, set func(int, int32)) {
		for i := lo; i < hi; i++ {
			if x.next[i] < n {
				b, next := schemes.JumpNext(x.ks.hashes[i], int(n))
				x.cur[i], x.next[i] = uint32(b), uint32(min(next, 1<<32-1))
				set(i, x.buckets[b])
			}
		}
	})
}

// drop removes bucket b with the remap rule: the last bucket's member takes
// b over, the keys of the last bucket are spread by jump hash.
func (x *jumpTracker) drop(b int) {
	last := len(x.buckets) - 1
	x.buckets[b] = x.buckets[last]
	x.buckets = x.buckets[:last]
	x.own.scan(func(lo, hi int, set func(int, int32)) {
		for i := lo; i < hi; i++ {
			switch int(x.cur[i]) {
			case last:
				bb, next := schemes.JumpNext(x.ks.hashes[i], last)
				x.cur[i], x.next[i] = uint32(bb), uint32(min(next, 1<<32-1))
				set(i, x.buckets[bb])
			case b:
				set(i, x.buckets[b])
			}
		}
	})
}

func (x *jumpTracker) locate(key []byte) string { return x.j.Locate(key) }

// ---- rendezvous: per key its best raw score; a join scores the newcomer
// only, a leave re-scores the leaver's keys only ----

type hrwTracker struct {
	r    *schemes.Rendezvous
	best []uint64 // per key: the owner's raw score
	own  keyOwners
	ws   []int // by member number: current weight (0: absent)
	ks   *keySet
	reg  *registry
}

func (x *hrwTracker) start(ms []ring.Member, t *tally) error {
	r, err := schemes.NewRendezvous(ms...)
	if err != nil {
		return err
	}
	x.r, x.ws = r, x.reg.weights(ms)
	k := len(x.ks.hashes)
	x.best, x.own = make([]uint64, k), newKeyOwners(k)
	num := x.reg.numbers(x.r.Members())
	forChunks(k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m, raw := x.r.LocateIndex(x.ks.hashes[i])
			x.own.owner[i], x.best[i] = num[m], raw
		}
	})
	x.own.place(x.ks, t)
	return nil
}

func (x *hrwTracker) apply(cs []ring.Change, t *tally) error {
	for _, c := range cs {
		t0 := time.Now()
		n, err := x.r.With(c)
		if err != nil {
			return err
		}
		t.since(t0)
		x.r = n.(*schemes.Rendezvous)
		id := x.reg.of(c.Member.Name)
		before := x.ws[id]
		x.ws[id] = 0
		if c.Op != ring.OpRemove {
			x.ws[id] = c.Member.Weight
		}
		switch {
		case x.ws[id] > before:
			x.challenge(id)
		case x.ws[id] < before:
			x.rescore(id)
		}
	}
	x.own.flush(x.ks, t)
	return nil
}

// challenge gives member id every key it now wins.
func (x *hrwTracker) challenge(id int32) {
	seed, w, name := schemes.HRWSeed(x.reg.names[id]), x.ws[id], x.reg.names[id]
	x.own.scan(func(lo, hi int, set func(int, int32)) {
		for i := lo; i < hi; i++ {
			o := x.own.owner[i]
			if o == id {
				continue
			}
			if raw := schemes.HRWRaw(x.ks.hashes[i], seed); schemes.HRWBeats(raw, w, name, x.best[i], x.ws[o], x.reg.names[o]) {
				x.best[i] = raw
				set(i, id)
			}
		}
	})
}

// rescore places member id's keys again over the current members.
func (x *hrwTracker) rescore(id int32) {
	num := x.reg.numbers(x.r.Members())
	x.own.scan(func(lo, hi int, set func(int, int32)) {
		for i := lo; i < hi; i++ {
			if x.own.owner[i] == id {
				m, raw := x.r.LocateIndex(x.ks.hashes[i])
				x.best[i] = raw
				set(i, num[m])
			}
		}
	})
}

func (x *hrwTracker) locate(key []byte) string { return x.r.Locate(key) }

// ---- multi-probe: per key the winning probe and its distance; a join
// checks each probe against the new points only, a leave places the
// leaver's keys again ----

type probeTracker struct {
	cfg   schemes.MultiProbeConfig
	p     *schemes.MultiProbe
	dist  []uint64
	probe []uint8
	own   keyOwners
	ws    []int
	ks    *keySet
	reg   *registry
}

func (x *probeTracker) start(ms []ring.Member, t *tally) error {
	p, err := schemes.NewMultiProbe(x.cfg, ms...)
	if err != nil {
		return err
	}
	x.p, x.ws = p, x.reg.weights(ms)
	k := len(x.ks.hashes)
	x.dist, x.probe, x.own = make([]uint64, k), make([]uint8, k), newKeyOwners(k)
	num := x.reg.numbers(x.p.Members())
	forChunks(k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m, d, pr := x.p.Nearest(x.ks.hashes[i])
			x.own.owner[i], x.dist[i], x.probe[i] = num[m], d, uint8(pr)
		}
	})
	x.own.place(x.ks, t)
	return nil
}

// apply takes the net change of each member over the event: first the
// members that lose points (their keys placed again), then every point
// gained at once (the placement is a function of the point set).
func (x *probeTracker) apply(cs []ring.Change, t *tally) error {
	downs, ups, before := netChanges(cs, x.ws, x.reg)
	for _, step := range [][]ring.Change{downs, ups} {
		if len(step) == 0 {
			continue
		}
		t0 := time.Now()
		n, err := x.p.With(step...)
		if err != nil {
			return err
		}
		t.since(t0)
		x.p = n.(*schemes.MultiProbe)
		var pts []probePoint
		for _, c := range step {
			id := x.reg.of(c.Member.Name)
			old := before[id]
			x.ws[id] = 0
			if c.Op != ring.OpRemove {
				x.ws[id] = c.Member.Weight
			}
			if x.ws[id] < old {
				x.replace(id)
			}
			for j := old; j < x.ws[id]; j++ {
				pts = append(pts, probePoint{ring.VNodePosition(c.Member.Name, uint32(j)), id})
			}
		}
		if len(pts) > 0 {
			x.gain(pts)
		}
	}
	x.own.flush(x.ks, t)
	return nil
}

// netChanges turns an event's changes into the net change of each member:
// the ones that end with less weight (removals or weight steps down), the
// ones that end with more, and every member's weight before the event.
func netChanges(cs []ring.Change, ws []int, reg *registry) (downs, ups []ring.Change, before map[int32]int) {
	before, after := map[int32]int{}, map[int32]int{}
	var order []int32
	for _, c := range cs {
		id := reg.of(c.Member.Name)
		if _, ok := before[id]; !ok {
			before[id] = ws[id]
			order = append(order, id)
		}
		after[id] = 0
		if c.Op != ring.OpRemove {
			after[id] = c.Member.Weight
		}
	}
	for _, id := range order {
		b, a, name := before[id], after[id], reg.names[id]
		switch {
		case a < b && a == 0:
			downs = append(downs, ring.RemoveChange(name))
		case a < b:
			downs = append(downs, ring.SetWeightChange(name, a))
		case a > b && b == 0:
			ups = append(ups, ring.AddChange(ring.Member{Name: name, Weight: a}))
		case a > b:
			ups = append(ups, ring.SetWeightChange(name, a))
		}
	}
	return downs, ups, before
}

type probePoint struct {
	pos uint64
	id  int32
}

// gain gives the new points the keys one of whose probes now lies closer to
// one of them than the key's best: for such a probe the new point is its
// successor, since the old successor was no closer than the best.
func (x *probeTracker) gain(pts []probePoint) {
	slices.SortFunc(pts, func(a, b probePoint) int {
		if a.pos != b.pos {
			return cmpU64(a.pos, b.pos)
		}
		return strings.Compare(x.reg.names[a.id], x.reg.names[b.id])
	})
	pos := make([]uint64, len(pts))
	for i, p := range pts {
		pos[i] = p.pos
	}
	k := x.cfg.Probes
	x.own.scan(func(lo, hi int, set func(int, int32)) {
		for i := lo; i < hi; i++ {
			h := x.ks.hashes[i]
			p, step := h, schemes.ProbeStep(h)
			for pr := 0; pr < k; pr, p = pr+1, p+step {
				j := 0
				if len(pos) > 1 {
					j, _ = slices.BinarySearch(pos, p)
					j %= len(pos)
				}
				if d := pos[j] - p; d <= x.dist[i] && x.wins(i, d, pr, x.reg.names[pts[j].id]) {
					x.dist[i], x.probe[i] = d, uint8(pr)
					set(i, pts[j].id)
				}
			}
		}
	})
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// wins reports whether a new point at distance d from probe pr of key i
// beats the key's best (d ≤ its distance): ties go to the lower probe, then
// to the point of the smaller name (as Nearest breaks them).
func (x *probeTracker) wins(i int, d uint64, pr int, name string) bool {
	switch {
	case d < x.dist[i]:
		return true
	case pr != int(x.probe[i]):
		return pr < int(x.probe[i])
	}
	return name < x.reg.names[x.own.owner[i]]
}

// replace places member id's keys again.
func (x *probeTracker) replace(id int32) {
	num := x.reg.numbers(x.p.Members())
	x.own.scan(func(lo, hi int, set func(int, int32)) {
		for i := lo; i < hi; i++ {
			if x.own.owner[i] == id {
				m, d, pr := x.p.Nearest(x.ks.hashes[i])
				x.dist[i], x.probe[i] = d, uint8(pr)
				set(i, num[m])
			}
		}
	})
}

func (x *probeTracker) locate(key []byte) string { return x.p.Locate(key) }
