package placement

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
)

// EventType says what an Event reports. ONLY APPEND TO THIS LIST.
type EventType uint8

const (
	// EventViewChanged: this node adopted a view with another ring.
	// Epoch, Checksum, Members and Moves (keys this node will push) are set.
	EventViewChanged EventType = iota + 1
	// EventHandoffStarted: this node froze a key's process to push it to
	// To.
	EventHandoffStarted
	// EventHandoffFinished: the key now lives on To; its process here has
	// stopped (its monitors got DOWN handoff with the new PID).
	EventHandoffFinished
	// EventHandoffFailed: a push (this node was From) or a pull (this node
	// was To) gave up; Err says why. A failed push leaves the process
	// running here until the next reconcile; a failed pull starts the
	// process fresh.
	EventHandoffFailed
	// EventConflict: after a heal, a key was live here (the winner, To)
	// and on From (the loser). The loser's process stopped and handed its
	// queued messages to the winner; its exported state (StateBytes bytes,
	// Exported) went to Config.Conflict if set (Merged), else was dropped.
	EventConflict
)

var eventNames = [...]string{"", "view-changed", "handoff-started", "handoff-finished", "handoff-failed", "conflict"}

// String returns the type's name.
func (t EventType) String() string {
	if int(t) < len(eventNames) {
		return eventNames[t]
	}
	return "unknown"
}

// Event is something that happened on a cluster node, delivered to
// Config.Events.
type Event struct {
	Type EventType
	Time time.Time
	Node string // the node reporting it

	// EventViewChanged.
	Epoch    uint64
	Checksum uint64
	Members  int
	Moves    int

	// Handoff and conflict events.
	Kind string
	Key  string
	From string // old owner (conflict: the loser)
	To   string // new owner (conflict: the winner)
	Err  error  // EventHandoffFailed

	// EventConflict.
	StateBytes int  // size of the loser's exported state
	Exported   bool // the loser's kind exported its state
	Merged     bool // the state was handed to Config.Conflict (else dropped)
}

// Conflict is a duplicate found at heal, as given to Config.Conflict on the
// winner's node.
type Conflict struct {
	Kind, Key string
	Winner    string   // the node that keeps the key (its owner after the heal)
	WinnerPID node.PID // the process that keeps it
	Loser     string   // the node whose copy was stopped
	State     []byte   // the loser's exported state (nil if not Exported)
	Exported  bool
}

// Stats are a node's placement counters (Cluster.Stats).
type Stats struct {
	Epoch    uint64   `json:"epoch"`
	Checksum Checksum `json:"checksum"`
	Members  int      `json:"members"`
	Hosted   int      `json:"hosted"` // keyed processes here, any state

	Routed       uint64 `json:"routed"`        // routed requests received by this node
	Forwarded    uint64 `json:"forwarded"`     // requests forwarded to the owner this node believes in
	Dropped      uint64 `json:"dropped"`       // sends not delivered (hops exhausted, buffer full, no quorum, start failed, next hop unreachable)
	Buffered     uint64 `json:"buffered"`      // requests that waited in a key's buffer (key starting, pulling, importing or moving)
	NotOwner     uint64 `json:"not_owner"`     // calls answered ErrNotOwner
	NoQuorum     uint64 `json:"no_quorum"`     // requests refused for lack of quorum
	ViewMismatch uint64 `json:"view_mismatch"` // routed requests whose sender's view checksum differed from ours

	Spawned          uint64 `json:"spawned"`  // keyed processes started fresh
	Imported         uint64 `json:"imported"` // keyed processes started from a handoff
	Pulls            uint64 `json:"pulls"`    // pull rounds sent as new owner
	HandoffsStarted  uint64 `json:"handoffs_started"`
	HandoffsFinished uint64 `json:"handoffs_finished"`
	HandoffsFailed   uint64 `json:"handoffs_failed"`
	// Replication (replicated kinds): updates sent to backups, updates
	// that could not be stored in time (the write failed), copies found
	// superseded by a newer term, backup copies promoted to primaries,
	// updates in flight (async), backup copies kept here and their bytes.
	ReplUpdates    uint64 `json:"repl_updates"`
	ReplFailed     uint64 `json:"repl_failed"`
	ReplStale      uint64 `json:"repl_stale"`
	ReplPromotions uint64 `json:"repl_promotions"`
	// ReplCopiesSent: copies sent to backups outside a write (re-
	// replication): to new backups after a view change, after a
	// promotion, after an import.
	ReplCopiesSent  uint64 `json:"repl_copies_sent"`
	ReplInflight    int64  `json:"repl_inflight"`
	ReplBackups     int    `json:"repl_backups"`
	ReplBackupBytes int    `json:"repl_backup_bytes"`
	// Passivation: processes passivated and started again; keys passive
	// here now and the bytes of their kept states.
	Passivated       uint64 `json:"passivated"`
	Reactivated      uint64 `json:"reactivated"`
	Passive          int    `json:"passive"`
	PassiveBytes     int    `json:"passive_bytes"`
	HandoffsQueued   int    `json:"handoffs_queued"`    // keys waiting for a push worker
	HandoffsInFlight int    `json:"handoffs_in_flight"` // pushes running now (at most MigrationBudget)
	Conflicts        uint64 `json:"conflicts"`          // duplicates resolved here as the winner
	ConflictsLost    uint64 `json:"conflicts_lost"`     // copies stopped here as the loser
	ViewChanges      uint64 `json:"view_changes"`
	EventsDropped    uint64 `json:"events_dropped"`
}

// counters are the atomic counters behind Stats.
type counters struct {
	routed, forwarded, dropped, buffered, notOwner, noQuorum   atomic.Uint64
	viewMismatch                                               atomic.Uint64
	spawned, imported, pulls                                   atomic.Uint64
	hoStarted, hoFinished, hoFailed, conflicts, conflictsLost  atomic.Uint64
	viewChanges, eventsDropped                                 atomic.Uint64
	pushing                                                    atomic.Int64 // pushes running now
	replUpdates, replFailed, replStale, promotions, replResent atomic.Uint64
	replInflight                                               atomic.Int64
	passivated, reactivated                                    atomic.Uint64
}

func (k *counters) fill(s *Stats) {
	s.Routed, s.Forwarded, s.Dropped, s.Buffered = k.routed.Load(), k.forwarded.Load(), k.dropped.Load(), k.buffered.Load()
	s.NotOwner, s.NoQuorum, s.ViewMismatch = k.notOwner.Load(), k.noQuorum.Load(), k.viewMismatch.Load()
	s.Spawned, s.Imported, s.Pulls = k.spawned.Load(), k.imported.Load(), k.pulls.Load()
	s.HandoffsStarted, s.HandoffsFinished, s.HandoffsFailed = k.hoStarted.Load(), k.hoFinished.Load(), k.hoFailed.Load()
	s.Conflicts, s.ConflictsLost = k.conflicts.Load(), k.conflictsLost.Load()
	s.ViewChanges, s.EventsDropped = k.viewChanges.Load(), k.eventsDropped.Load()
	s.HandoffsInFlight = int(k.pushing.Load())
	s.ReplUpdates, s.ReplFailed, s.ReplStale = k.replUpdates.Load(), k.replFailed.Load(), k.replStale.Load()
	s.ReplPromotions, s.ReplInflight, s.ReplCopiesSent = k.promotions.Load(), k.replInflight.Load(), k.replResent.Load()
	s.Passivated, s.Reactivated = k.passivated.Load(), k.reactivated.Load()
}

// maxQueuedEvents bounds the events waiting for the dispatcher.
const maxQueuedEvents = 4096

// eventItem is an event, or a conflict for the Conflict callback.
type eventItem struct {
	ev       Event
	conflict *Conflict
}

// eventQueue hands events to the user's callbacks on one goroutine, never
// blocking the cluster: when full, the oldest item is dropped.
type eventQueue struct {
	mu     sync.Mutex // guards items
	items  []eventItem
	signal chan struct{} // capacity 1: items were added
}

func newEventQueue() *eventQueue { return &eventQueue{signal: make(chan struct{}, 1)} }

// push queues it; false if an older item had to be dropped.
func (q *eventQueue) push(it eventItem) bool {
	q.mu.Lock()
	dropped := false
	if len(q.items) >= maxQueuedEvents {
		q.items = q.items[1:]
		dropped = true
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return !dropped
}

// take returns the queued items, waiting until there are some or ctx ends.
func (q *eventQueue) take(ctx context.Context) ([]eventItem, bool) {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		if len(items) > 0 {
			return items, true
		}
		select {
		case <-q.signal:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// emit queues ev for Config.Events (if set) and the watchers.
func (c *Cluster) emit(ev Event) {
	ev.Time, ev.Node = time.Now(), c.self
	c.watchr.fromEvent(ev)
	if c.cfg.Events == nil {
		return
	}
	if !c.events.push(eventItem{ev: ev}) {
		c.stats.eventsDropped.Add(1)
	}
}

// emitConflict queues the conflict event and the Conflict callback.
func (c *Cluster) emitConflict(cf Conflict) {
	ev := Event{
		Type: EventConflict, Time: time.Now(), Node: c.self, Kind: cf.Kind, Key: cf.Key,
		From: cf.Loser, To: cf.Winner, StateBytes: len(cf.State), Exported: cf.Exported,
		Merged: c.cfg.Conflict != nil,
	}
	c.watchr.fromEvent(ev)
	if c.cfg.Events == nil && c.cfg.Conflict == nil {
		return
	}
	if !c.events.push(eventItem{ev: ev, conflict: &cf}) {
		c.stats.eventsDropped.Add(1)
	}
}

// dispatchLoop runs the user's callbacks, in order, until shutdown.
func (c *Cluster) dispatchLoop() {
	for {
		items, ok := c.events.take(c.ctx)
		if !ok {
			return
		}
		for _, it := range items {
			c.dispatch(it)
		}
	}
}

func (c *Cluster) dispatch(it eventItem) {
	defer func() {
		if v := recover(); v != nil {
			c.warns.Warn("callback-panic", "event callback panicked", func(ev *zerolog.Event) *zerolog.Event { return ev.Interface("panic", v) })
		}
	}()
	if it.conflict != nil && c.cfg.Conflict != nil {
		c.cfg.Conflict(*it.conflict)
	}
	if c.cfg.Events != nil {
		c.cfg.Events(it.ev)
	}
}
