//go:build !race

package ring

import (
	"testing"
)

// Lookups allocate nothing (the race detector changes allocation counts, so
// this file is skipped under -race).
func TestLookupsDoNotAllocate(t *testing.T) {
	ms := members(20)
	r := mustNew(t, DefaultConfig(), ms...)
	b, err := NewBounded(DefaultBoundedConfig(), ms...)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHolder(r)
	key := []byte("user:42")
	dst := make([]string, 0, 8)
	for name, fn := range map[string]func(){
		"Ring.Locate":           func() { _ = r.Locate(key) },
		"Ring.LocateString":     func() { _ = r.LocateString("user:42") },
		"Ring.AppendLocateN":    func() { dst = r.AppendLocateN(dst[:0], key, 5) },
		"Bounded.Locate":        func() { _ = b.Locate(key) },
		"Bounded.AppendLocateN": func() { dst = b.AppendLocateN(dst[:0], key, 5) },
		"Holder.Load().Locate":  func() { _ = h.Load().Locate(key) },
	} {
		if got := testing.AllocsPerRun(200, fn); got != 0 {
			t.Errorf("%s: %v allocations per call", name, got)
		}
	}
	// Control: LocateN returns a new slice, so the measure does see allocations.
	if got := testing.AllocsPerRun(200, func() { _ = r.LocateN(key, 5) }); got != 1 {
		t.Errorf("LocateN: %v allocations per call, want 1", got)
	}
}
