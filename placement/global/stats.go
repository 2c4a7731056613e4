package global

import (
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/node"
)

// counters are the service's statistics (see Stats).
type counters struct {
	registered, published, imported, conflicts, recoveries, claims, expired, conflictsFolded atomic.Uint64
	conflictsDup, coalesced                                                                  atomic.Uint64
	updatesIn, updatesStale, sent, sendErrors, bad, repairs                                  atomic.Uint64
	grants, lockWaits, lockWaitNanos, lockTimeouts, lockAdopted, lockLost                    atomic.Uint64
}

// Stats are a node's figures of global names and locks.
type Stats struct {
	Names      int `json:"names"`      // live names in this node's replica
	Tombstones int `json:"tombstones"` // ended registrations remembered (TombstoneTTL)
	// NameAuthorities and LockAuthorities are the authority processes
	// this node hosts.
	NameAuthorities int    `json:"name_authorities"`
	LockAuthorities int    `json:"lock_authorities"`
	LocksHeld       int    `json:"locks_held"` // locks held by this node's processes
	Registered      uint64 `json:"registered"` // registrations granted by authorities here
	Published       uint64 `json:"published"`  // changes disseminated by authorities here
	Imported        uint64 `json:"imported"`   // authorities started from a handoff
	// Conflicts: names found held on both sides of a partition, resolved
	// by authorities here (the loser told or exited). While views converge
	// after a heal, two nodes may each believe they own a name for a
	// moment: the cluster-wide sum can then count a name twice.
	Conflicts uint64 `json:"conflicts"`
	// ConflictNoticesDup: NameConflict notices for a local loser that
	// another authority had already sent (told once; see Conflicts).
	ConflictNoticesDup uint64 `json:"conflict_notices_dup"`
	Recoveries         uint64 `json:"recoveries"` // fresh authorities that asked every node
	// ConflictsFolded: authority copies that lost a placement conflict
	// (duplicates after a heal, or views that disagreed for a moment)
	// whose state was claimed to the winning copy.
	ConflictsFolded uint64 `json:"conflicts_folded"`
	Claims          uint64 `json:"claims"`     // records and held locks claimed to their owners
	Expired         uint64 `json:"expired"`    // tombstones forgotten
	UpdatesIn       uint64 `json:"updates_in"` // records received from other nodes
	// UpdatesStale: records not taken (older, or for a name this node
	// owns).
	UpdatesStale uint64 `json:"updates_stale"`
	// Repairs: syncs sent because a peer's digest of this node's names
	// differed (anti-entropy).
	Repairs uint64 `json:"repairs"`
	Sent    uint64 `json:"sent"`
	// Coalesced: changes that went to a node inside another change's
	// message (Config.Coalesce), one per change and node.
	Coalesced   uint64 `json:"coalesced"`
	SendErrors  uint64 `json:"send_errors"`
	BadMessages uint64 `json:"bad_messages"`
	LockGrants  uint64 `json:"lock_grants"`
	LockWaits   uint64 `json:"lock_waits"` // acquires that queued
	// LockWaitSeconds is the total time granted waiters queued.
	LockWaitSeconds float64 `json:"lock_wait_seconds"`
	LockTimeouts    uint64  `json:"lock_timeouts"`
	LockAdopted     uint64  `json:"lock_adopted"` // holders taken in from claims (failover, heal)
	// LockLost: holders told they lost a lock to a larger token (heal).
	LockLost uint64 `json:"lock_lost"`
}

// Stats returns the node's figures.
func (s *Service) Stats() Stats {
	live, tombs := s.tab.counts()
	s.mu.Lock()
	st := Stats{Names: live, Tombstones: tombs, NameAuthorities: len(s.auths), LockAuthorities: len(s.locks), LocksHeld: len(s.held)}
	s.mu.Unlock()
	c := &s.stats
	st.Registered, st.Published, st.Imported = c.registered.Load(), c.published.Load(), c.imported.Load()
	st.Conflicts, st.Recoveries, st.Claims, st.Expired = c.conflicts.Load(), c.recoveries.Load(), c.claims.Load(), c.expired.Load()
	st.UpdatesIn, st.UpdatesStale, st.Sent, st.SendErrors = c.updatesIn.Load(), c.updatesStale.Load(), c.sent.Load(), c.sendErrors.Load()
	st.Coalesced = c.coalesced.Load()
	st.Repairs, st.ConflictsFolded, st.ConflictNoticesDup = c.repairs.Load(), c.conflictsFolded.Load(), c.conflictsDup.Load()
	st.BadMessages, st.LockGrants, st.LockWaits = c.bad.Load(), c.grants.Load(), c.lockWaits.Load()
	st.LockWaitSeconds = time.Duration(c.lockWaitNanos.Load()).Seconds()
	st.LockTimeouts, st.LockAdopted, st.LockLost = c.lockTimeouts.Load(), c.lockAdopted.Load(), c.lockLost.Load()
	return st
}

// lockUp and lockDown track the lock authorities alive here and their
// last state (for Locks and /api/locks).
func (s *Service) lockUp(id string, l LockInfo) {
	s.mu.Lock()
	s.locks[id] = l
	s.mu.Unlock()
}

func (s *Service) lockDown(id string) {
	s.mu.Lock()
	delete(s.locks, id)
	s.mu.Unlock()
}

// quorum reports whether this node's side holds a strict majority of the
// last full membership (always true without Serf).
func (s *Service) quorum() bool {
	c := s.c()
	if c == nil || c.Membership() == nil {
		return true
	}
	return c.Membership().Quorum().Majority
}

// lockConflict tells the holder that lost lock id to winner (a larger
// token) at a heal or a failover.
func (s *Service) lockConflict(p *node.Proc, id string, loser, winner node.PID, token uint64) {
	s.stats.lockLost.Add(1)
	s.log.Warn().Str("lock", id).Str("winner", winner.String()).Str("loser", loser.String()).
		Msg("lock held on both sides of a partition: the larger token keeps it")
	_ = p.Send(loser, LockLost{ID: id, Token: token, Winner: winner}.encode())
}
