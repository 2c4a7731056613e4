package global

import (
	"sort"
	"sync"
	"time"

	"github.com/placerhq/placer/node"
)

// table is a node's replica of every global name, disseminated by the
// authorities: WhereisName reads it without any round trip. Entries are
// values, replaced whole; mu guards the map (readers take it shared).
type table struct {
	mu      sync.RWMutex
	entries map[string]entry
}

// entry is a replica of one name's record.
type entry struct {
	rec record
	// authority is the node whose authority's word this is: the owner of
	// the name when it sent it. "" marks a record no authority confirmed
	// yet (a claim is due).
	authority string
	// seen is when this node stored a tombstone or gone record: it is
	// forgotten TombstoneTTL later.
	seen time.Time
}

func newTable() table { return table{entries: map[string]entry{}} }

// whereis returns the live holder of name.
func (t *table) whereis(name string) (node.PID, bool) {
	t.mu.RLock()
	e, ok := t.entries[name]
	t.mu.RUnlock()
	if !ok || !e.rec.live() {
		return node.PID{}, false
	}
	return e.rec.pid, true
}

func (t *table) get(name string) (entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.entries[name]
	return e, ok
}

// putLocked stores e (t.mu held).
func (t *table) putLocked(e entry, now time.Time) {
	if !e.rec.live() && e.seen.IsZero() {
		e.seen = now
	}
	t.entries[e.rec.name] = e
}

// putOwn stores rec as this node's authority's word (authority self),
// unless newer is set and the entry held has a version at least rec's.
func (t *table) putOwn(rec record, self string, newer bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.entries[rec.name]; newer && ok && rec.version <= cur.rec.version {
		return
	}
	t.putLocked(entry{rec: rec, authority: self}, time.Now())
}

// live returns the live registrations, sorted by name.
func (t *table) live() []record {
	t.mu.RLock()
	out := make([]record, 0, len(t.entries))
	for _, e := range t.entries {
		if e.rec.live() {
			out = append(out, e.rec)
		}
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// snapshot copies every entry.
func (t *table) snapshot() []entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	return out
}

// counts returns the live entries and the tombstones (tomb and gone).
func (t *table) counts() (live, tombs int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if e.rec.live() {
			live++
		}
	}
	return live, len(t.entries) - live
}

// expire forgets tombstones stored before cutoff.
func (t *table) expire(cutoff time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for name, e := range t.entries {
		if !e.rec.live() && e.seen.Before(cutoff) {
			delete(t.entries, name)
			n++
		}
	}
	return n
}
