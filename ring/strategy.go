package ring

import (
	"fmt"
	"sync/atomic"
)

// Strategy maps keys to members. *Ring and *Bounded implement it (the
// benchmarks' comparison schemes implement it too, outside this package:
// MemberSet, ApplyChanges and StrategyChecksum give them the same input
// rules and checksum). Every implementation is an immutable snapshot, safe
// for concurrent use; With returns a new snapshot and leaves the receiver as
// it was.
type Strategy interface {
	// Name returns the strategy's short name: "ring", "bounded", or the
	// name of a strategy implemented elsewhere.
	Name() string
	// Locate returns the owner of key, or "" when there are no members.
	Locate(key []byte) string
	// LocateString is Locate for a string key.
	LocateString(key string) string
	// LocateHash returns the owner of a key by its hash, h = Hash(key).
	LocateHash(h uint64) string
	// LocateN returns up to n distinct members for key, owner first (a
	// replica preference list); nil when n < 1 or there are no members.
	LocateN(key []byte, n int) []string
	// AppendLocateN appends LocateN(key, n) to dst.
	AppendLocateN(dst []string, key []byte, n int) []string
	// Members returns the members sorted by name, in a new slice.
	Members() []Member
	// Len returns the number of members.
	Len() int
	// Has reports whether the named member is present.
	Has(name string) bool
	// Checksum digests the strategy name, its parameters and the member
	// set; equal checksums mean equal placement (see docs/ring.md).
	Checksum() uint64
	// With returns the strategy with changes applied, all or nothing.
	With(changes ...Change) (Strategy, error)
}

// Compile-time checks.
var (
	_ Strategy = (*Ring)(nil)
	_ Strategy = (*Bounded)(nil)
)

// With implements Strategy: it is Apply returning a Strategy.
func (r *Ring) With(changes ...Change) (Strategy, error) {
	n, err := r.Apply(changes...)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Holder holds the current Strategy snapshot for concurrent readers. Load is
// one atomic load: lookups never wait for a writer, and a writer building
// the next snapshot never waits for readers. The zero Holder holds nothing
// (Load returns nil); use NewHolder.
type Holder struct {
	cur atomic.Pointer[held]
}

type held struct{ s Strategy }

// NewHolder returns a Holder holding s.
func NewHolder(s Strategy) *Holder {
	h := &Holder{}
	h.Store(s)
	return h
}

// Load returns the current snapshot (nil if none was ever stored).
func (h *Holder) Load() Strategy {
	if p := h.cur.Load(); p != nil {
		return p.s
	}
	return nil
}

// Store replaces the current snapshot with s.
func (h *Holder) Store(s Strategy) { h.cur.Store(&held{s: s}) }

// Swap replaces the current snapshot with s and returns the previous one.
func (h *Holder) Swap(s Strategy) Strategy {
	if p := h.cur.Swap(&held{s: s}); p != nil {
		return p.s
	}
	return nil
}

// Update replaces the current snapshot with fn(current) and returns the new
// snapshot. It takes no lock: if another writer stored a snapshot while fn
// ran, fn runs again on that one, so fn must be a pure function of its
// argument (as Strategy.With is). If fn fails, nothing is stored and its
// error is returned.
func (h *Holder) Update(fn func(cur Strategy) (Strategy, error)) (Strategy, error) {
	for {
		old := h.cur.Load()
		var cur Strategy
		if old != nil {
			cur = old.s
		}
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return nil, fmt.Errorf("%w: returned by the Update function", ErrNilStrategy)
		}
		if h.cur.CompareAndSwap(old, &held{s: next}) {
			return next, nil
		}
	}
}
