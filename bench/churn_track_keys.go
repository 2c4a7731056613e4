package bench

import (
	"context"
	"runtime"
	"slices"
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

func (o *keyOwners) set(k int, owner int32) {
	if o.stamp[k] != o.event {
		o.stamp[k] = o.event
		o.touched = append(o.touched, int32(k))
		o.orig = append(o.orig, o.owner[k])
	}
	o.owner[k] = owner
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
	for i := range x.cur {
		if x.next[i] < n {
			b, next := schemes.JumpNext(x.ks.hashes[i], int(n))
			x.cur[i], x.next[i] = uint32(b), uint32(min(next, 1<<32-1))
			x.own.set(i, x.buckets[b])
		}
	}
}

// drop removes bucket b with the remap rule: the last bucket's member takes
// b over, the keys of the last bucket are spread by jump hash.
func (x *jumpTracker) drop(b int) {
	last := len(x.buckets) - 1
	x.buckets[b] = x.buckets[last]
	x.buckets = x.buckets[:last]
	for i := range x.cur {
		switch int(x.cur[i]) {
		case last:
			bb, next := schemes.JumpNext(x.ks.hashes[i], last)
			x.cur[i], x.next[i] = uint32(bb), uint32(min(next, 1<<32-1))
			x.own.set(i, x.buckets[bb])
		case b:
			x.own.set(i, x.buckets[b])
		}
	}
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
	x.r, x.ws = r, make([]int, len(x.reg.names))
	for _, m := range ms {
		x.ws[x.reg.of(m.Name)] = m.Weight
	}
	k := len(x.ks.hashes)
	x.best, x.own = make([]uint64, k), newKeyOwners(k)
	num := x.numbers()
	forChunks(k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m, raw := x.r.LocateIndex(x.ks.hashes[i])
			x.own.owner[i], x.best[i] = num[m], raw
		}
	})
	x.own.place(x.ks, t)
	return nil
}

// numbers maps the snapshot's member indexes to member numbers.
func (x *hrwTracker) numbers() []int32 {
	ms := x.r.Members()
	num := make([]int32, len(ms))
	for i, m := range ms {
		num[i] = x.reg.of(m.Name)
	}
	return num
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
	for i, h := range x.ks.hashes {
		o := x.own.owner[i]
		if o == id {
			continue
		}
		if raw := schemes.HRWRaw(h, seed); schemes.HRWBeats(raw, w, name, x.best[i], x.ws[o], x.reg.names[o]) {
			x.best[i] = raw
			x.own.set(i, id)
		}
	}
}

// rescore places member id's keys again over the current members.
func (x *hrwTracker) rescore(id int32) {
	num := x.numbers()
	for i, h := range x.ks.hashes {
		if x.own.owner[i] == id {
			m, raw := x.r.LocateIndex(h)
			x.best[i] = raw
			x.own.set(i, num[m])
		}
	}
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
	x.p, x.ws = p, make([]int, len(x.reg.names))
	for _, m := range ms {
		x.ws[x.reg.of(m.Name)] = m.Weight
	}
	k := len(x.ks.hashes)
	x.dist, x.probe, x.own = make([]uint64, k), make([]uint8, k), newKeyOwners(k)
	num := x.numbers()
	forChunks(k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m, d, pr := x.p.Nearest(x.ks.hashes[i])
			x.own.owner[i], x.dist[i], x.probe[i] = num[m], d, uint8(pr)
		}
	})
	x.own.place(x.ks, t)
	return nil
}

func (x *probeTracker) numbers() []int32 {
	ms := x.p.Members()
	num := make([]int32, len(ms))
	for i, m := range ms {
		num[i] = x.reg.of(m.Name)
	}
	return num
}

func (x *probeTracker) apply(cs []ring.Change, t *tally) error {
	for _, c := range cs {
		t0 := time.Now()
		n, err := x.p.With(c)
		if err != nil {
			return err
		}
		t.since(t0)
		x.p = n.(*schemes.MultiProbe)
		id := x.reg.of(c.Member.Name)
		before := x.ws[id]
		x.ws[id] = 0
		if c.Op != ring.OpRemove {
			x.ws[id] = c.Member.Weight
		}
		switch {
		case x.ws[id] > before:
			x.gain(id, before, x.ws[id])
		case x.ws[id] < before:
			x.replace(id)
		}
	}
	x.own.flush(x.ks, t)
	return nil
}

// gain gives member id the keys one of whose probes now lies closer to one
// of its new points (indexes from..to-1) than the key's best: for such a
// probe the new point is its successor, since the old successor was no
// closer than the best.
func (x *probeTracker) gain(id int32, from, to int) {
	name := x.reg.names[id]
	pts := make([]uint64, 0, to-from)
	for j := from; j < to; j++ {
		pts = append(pts, ring.VNodePosition(name, uint32(j)))
	}
	slices.Sort(pts)
	k := x.cfg.Probes
	for i, h := range x.ks.hashes {
		p, step := h, schemes.ProbeStep(h)
		for pr := 0; pr < k; pr, p = pr+1, p+step {
			d := pts[0] - p // one new point: no search
			if len(pts) > 1 {
				j, _ := slices.BinarySearch(pts, p)
				d = pts[j%len(pts)] - p
			}
			if d <= x.dist[i] && x.wins(i, d, pr, name) {
				x.dist[i], x.probe[i] = d, uint8(pr)
				x.own.set(i, id)
			}
		}
	}
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
	num := x.numbers()
	for i, h := range x.ks.hashes {
		if x.own.owner[i] == id {
			m, d, pr := x.p.Nearest(h)
			x.dist[i], x.probe[i] = d, uint8(pr)
			x.own.set(i, num[m])
		}
	}
}

func (x *probeTracker) locate(key []byte) string { return x.p.Locate(key) }
