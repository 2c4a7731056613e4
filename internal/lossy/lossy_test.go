package lossy_test

import (
	"sync"
	"testing"

	"github.com/placerhq/placer/internal/lossy"
)

type ev struct {
	n       int
	Dropped uint64
}

func newChan(size int) *lossy.Chan[ev] {
	return lossy.New(size, func(e *ev) *uint64 { return &e.Dropped })
}

// TestDropOldest: a full channel keeps the newest events, and the sum of
// Dropped over the events received is the number discarded.
func TestDropOldest(t *testing.T) {
	c := newChan(3)
	for i := range 10 {
		c.Offer(ev{n: i})
	}
	c.Close()
	var got []int
	var lost uint64
	for e := range c.C() {
		got = append(got, e.n)
		lost += e.Dropped
	}
	if len(got) != 3 || got[0] != 7 || got[2] != 9 || lost != 7 {
		t.Fatalf("got %v, %d dropped; want [7 8 9], 7", got, lost)
	}
}

// TestConcurrentAndClosed: offers after Close are ignored, Close is idempotent,
// and concurrent offers never block or lose the count.
func TestConcurrentAndClosed(t *testing.T) {
	c := newChan(4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 250 {
				c.Offer(ev{n: g*1000 + i})
			}
		})
	}
	wg.Wait()
	c.Close()
	c.Close()
	c.Offer(ev{n: -1})
	var n int
	var lost uint64
	for e := range c.C() {
		n++
		lost += e.Dropped
	}
	if uint64(n)+lost != 1000 {
		t.Fatalf("%d received + %d dropped != 1000 offered", n, lost)
	}
}
