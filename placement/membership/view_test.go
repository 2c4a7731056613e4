package membership

import (
	"sync"
	"testing"
)

func viewWith(version uint64, changes ...string) View {
	v := View{Version: version}
	for _, n := range changes {
		v.Changes = append(v.Changes, Change{Kind: ChangeJoin, Member: mem(n, StatusAlive)})
	}
	return v
}

func TestOfferLatestValueWinsKeepsChanges(t *testing.T) {
	ch := make(chan View, 1)
	offer(ch, viewWith(1, "a"))
	offer(ch, viewWith(2, "b", "c"))
	offer(ch, viewWith(3, "d"))
	v := <-ch
	if v.Version != 3 || len(v.Changes) != 4 || v.ChangesDropped != 0 {
		t.Fatalf("got %+v", v)
	}
	for i, n := range []string{"a", "b", "c", "d"} {
		if v.Changes[i].Member.Name != n {
			t.Fatalf("changes out of order: %+v", v.Changes)
		}
	}
	select {
	case extra := <-ch:
		t.Fatalf("more than one view buffered: %+v", extra)
	default:
	}
}

func TestOfferBoundsPendingChanges(t *testing.T) {
	ch := make(chan View, 1)
	total := MaxPendingChanges + 10
	for i := range total {
		offer(ch, viewWith(uint64(i+1), "x"))
	}
	v := <-ch
	if len(v.Changes) != MaxPendingChanges || v.ChangesDropped != 10 || v.Version != uint64(total) {
		t.Fatalf("changes %d dropped %d version %d", len(v.Changes), v.ChangesDropped, v.Version)
	}
}

// TestOfferConcurrentReaderLosesNothing: with a reader racing the single
// sender, every change arrives exactly once and versions only grow.
func TestOfferConcurrentReaderLosesNothing(t *testing.T) {
	ch := make(chan View, 1)
	const n = 5000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			offer(ch, viewWith(uint64(i+1), "m"))
		}
		close(ch)
	}()
	got, last := 0, uint64(0)
	for v := range ch {
		if v.Version <= last {
			t.Fatalf("version went from %d to %d", last, v.Version)
		}
		last = v.Version
		got += len(v.Changes) + v.ChangesDropped
	}
	wg.Wait()
	if got != n || last != n {
		t.Fatalf("received %d changes up to version %d, want %d", got, last, n)
	}
}

// TestFoldDoesNotTouchSharedChanges: the Changes of a published View are
// shared between subscribers; folding for one must not alter another's.
func TestFoldDoesNotTouchSharedChanges(t *testing.T) {
	shared := viewWith(1, "a")
	shared.Changes = append(make([]Change, 0, 8), shared.Changes...) // spare capacity to tempt an in-place append
	slow, fast := make(chan View, 1), make(chan View, 1)
	offer(slow, shared)
	offer(fast, shared)
	offer(slow, viewWith(2, "b"))
	offer(slow, viewWith(3, "c"))
	if v := <-fast; len(v.Changes) != 1 || v.Changes[0].Member.Name != "a" {
		t.Fatalf("fast subscriber's view changed: %+v", v.Changes)
	}
	if got := (<-slow).Changes; len(got) != 3 || got[2].Member.Name != "c" || cap(shared.Changes[:1]) != 8 || shared.Changes[:2][1].Member.Name != "" {
		t.Fatalf("slow subscriber %+v", got)
	}
}
