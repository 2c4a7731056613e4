package placement

import (
	"sync"
	"time"
)

// replica is a backup copy of a key's state, as its primary last sent it.
type replica struct {
	term     uint64 // the primary's term: a promoted copy has a higher one
	seq      uint64 // updates within the term, gap-free from the primary
	exported bool
	state    []byte
	primary  string    // the node that sent it
	at       time.Time // when it was stored
}

// newer reports whether r supersedes o (a later term, or the same term and
// a later update).
func (r *replica) newer(o *replica) bool {
	return r.term > o.term || (r.term == o.term && r.seq > o.seq)
}

// replicaStore holds the backup copies this node keeps. Its mutex is a
// leaf: never held while calling out.
type replicaStore struct {
	mu sync.Mutex // guards m
	m  map[keyID]*replica
}

func newReplicaStore() *replicaStore { return &replicaStore{m: map[keyID]*replica{}} }

// get returns a copy of the stored replica of id, if any.
func (s *replicaStore) get(id keyID) (replica, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[id]
	if !ok {
		return replica{}, false
	}
	return *r, true
}

// offer stores r for id unless the stored copy is at least as new; it
// returns the copy kept.
func (s *replicaStore) offer(id keyID, r replica) replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[id]; ok && !r.newer(cur) {
		return *cur
	}
	s.m[id] = &r
	return r
}

// drop removes id's copy if it is the one given (by term and seq): a
// newer copy that arrived meanwhile stays.
func (s *replicaStore) drop(id keyID, term, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[id]; ok && cur.term == term && cur.seq == seq {
		delete(s.m, id)
	}
}

// dropUpTo removes id's copy if its term is at most term.
func (s *replicaStore) dropUpTo(id keyID, term uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[id]; ok && cur.term <= term {
		delete(s.m, id)
	}
}

// each calls f for a snapshot of the stored copies (outside the lock).
func (s *replicaStore) each(f func(id keyID, r replica)) {
	s.mu.Lock()
	all := make(map[keyID]replica, len(s.m))
	for id, r := range s.m {
		all[id] = *r
	}
	s.mu.Unlock()
	for id, r := range all {
		f(id, r)
	}
}

// len is the number of stored copies.
func (s *replicaStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// bytes is the total size of the stored states.
func (s *replicaStore) bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.m {
		n += len(r.state)
	}
	return n
}

// hintStore remembers, for a while, which node holds a newer copy of a
// key than this node's superseded one: the key's next entry here pulls
// from it first.
type hintStore struct {
	mu sync.Mutex // guards m
	m  map[keyID]hint
}

type hint struct {
	node    string
	expires time.Time
}

func newHintStore() *hintStore { return &hintStore{m: map[keyID]hint{}} }

func (h *hintStore) set(id keyID, node string, expires time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[id] = hint{node: node, expires: expires}
}

// get returns the hinted node for id ("" if none or expired).
func (h *hintStore) get(id keyID, now time.Time) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.m[id]
	if !ok {
		return ""
	}
	if now.After(v.expires) {
		delete(h.m, id)
		return ""
	}
	return v.node
}

// expire drops the hints past their time.
func (h *hintStore) expire(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, v := range h.m {
		if now.After(v.expires) {
			delete(h.m, id)
		}
	}
}
