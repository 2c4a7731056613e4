package ring_test

import (
	"fmt"

	"github.com/placerhq/placer/ring"
)

// Build a ring, look keys up, and see that a join moves keys only to the
// new member.
func Example() {
	r, err := ring.New(ring.DefaultConfig(),
		ring.Member{Name: "node1@10.0.0.1", Weight: 1},
		ring.Member{Name: "node2@10.0.0.2", Weight: 1},
		ring.Member{Name: "node3@10.0.0.3", Weight: 2}, // twice the keys
	)
	if err != nil {
		panic(err)
	}
	before := r.LocateString("user:42")

	r2, err := r.Add(ring.Member{Name: "node4@10.0.0.4", Weight: 1})
	if err != nil {
		panic(err)
	}
	after := r2.LocateString("user:42")
	fmt.Println(before == after || after == "node4@10.0.0.4")
	fmt.Println(r.Len(), r2.Len(), r.Checksum() != r2.Checksum())
	// Output:
	// true
	// 3 4 true
}

// Diff lists the hash ranges that change owner; a key moves exactly when
// its hash lies in one of them.
func ExampleDiff() {
	old, _ := ring.New(ring.DefaultConfig(), ring.Member{Name: "a", Weight: 1}, ring.Member{Name: "b", Weight: 1})
	new, _ := old.Remove("b")
	moves := ring.Diff(old, new)
	allFromB := true
	for _, m := range moves {
		allFromB = allFromB && m.From == "b" && m.To == "a"
	}
	key := "session:7"
	_, moved := ring.FindMove(moves, ring.HashString(key))
	fmt.Println(allFromB, moved == (old.LocateString(key) == "b"))
	// Output: true true
}

// LocateN gives a replica preference list: distinct members, owner first.
func ExampleRing_LocateN() {
	r, _ := ring.New(ring.DefaultConfig(),
		ring.Member{Name: "a", Weight: 1}, ring.Member{Name: "b", Weight: 1}, ring.Member{Name: "c", Weight: 1})
	replicas := r.LocateN([]byte("room:lobby"), 2)
	fmt.Println(len(replicas), replicas[0] == r.Locate([]byte("room:lobby")), replicas[0] != replicas[1])
	// Output: 2 true true
}

// A Holder lets many goroutines look keys up while a writer swaps in the
// next snapshot.
func ExampleHolder() {
	r, _ := ring.New(ring.DefaultConfig(), ring.Member{Name: "a", Weight: 1})
	h := ring.NewHolder(r)

	// Writer: add a member (retried if another writer got there first).
	_, err := h.Update(func(cur ring.Strategy) (ring.Strategy, error) {
		return cur.With(ring.AddChange(ring.Member{Name: "b", Weight: 1}))
	})
	fmt.Println(err, h.Load().Len())

	// Readers: one atomic load, then a lock-free lookup.
	owner := h.Load().LocateString("k")
	fmt.Println(owner == "a" || owner == "b")
	// Output:
	// <nil> 2
	// true
}

// The bounded-load strategy caps every member at c times its fair share of
// partitions.
func ExampleNewBounded() {
	cfg := ring.DefaultBoundedConfig()
	cfg.LoadFactor = 1.1
	var ms []ring.Member
	for i := 0; i < 20; i++ {
		ms = append(ms, ring.Member{Name: fmt.Sprintf("node-%02d", i), Weight: 1})
	}
	b, err := ring.NewBounded(cfg, ms...)
	if err != nil {
		panic(err)
	}
	peak := 0
	for _, n := range b.PartitionLoads() {
		peak = max(peak, n)
	}
	fair := float64(b.Partitions()) / 20
	fmt.Println(float64(peak) <= 1.1*fair+1)
	// Output: true
}
