package placement

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
)

// WatchEvent is a cluster event streamed to a watcher (Client.Watch,
// `placer monitor`), encoded with the node's codec.
type WatchEvent struct {
	Type  string    `json:"type"`  // one of the Watch* constants
	Time  time.Time `json:"time"`  // when the reporting agent saw it
	Agent string    `json:"agent"` // the agent that reported it
	// Node is the member that came up, went down or changed (WatchNodeUp,
	// WatchNodeDown, WatchUpdate), or the agent lost or reached
	// (WatchAgentDown, WatchAgent).
	Node string `json:"node,omitempty"`
	// Reason: "join" or "rejoin" (nodeup), "leave", "failed" or "reap"
	// (nodedown), the error for agent-down.
	Reason string `json:"reason,omitempty"`
	// WatchView: the agent's new view.
	Epoch    uint64   `json:"epoch,omitempty"`
	Checksum Checksum `json:"checksum,omitempty"`
	Members  int      `json:"members,omitempty"`
	Draining []string `json:"draining,omitempty"`
	// Handoff and conflict events (Cluster.Watch only, not sent to
	// remote watchers): the key, its old and new owner (a conflict: the
	// loser and the winner), the error of a failed handoff.
	Kind  string `json:"kind,omitempty"`
	Key   string `json:"key,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Error string `json:"error,omitempty"`
	// WatchQuorum: the new verdict (Majority of Full alive).
	Majority *bool `json:"majority,omitempty"`
	Alive    int   `json:"alive,omitempty"`
	Full     int   `json:"full,omitempty"`
}

// WatchEvent types.
const (
	WatchNodeUp    = "nodeup"     // a member became alive (joined, or back after a failure or partition)
	WatchNodeDown  = "nodedown"   // a member left, failed or was reaped
	WatchUpdate    = "update"     // a member's tags (weight, address, draining) changed
	WatchView      = "view"       // the agent adopted another ownership view
	WatchAgentDown = "agent-down" // the client lost its agent (client side)
	WatchAgent     = "agent"      // the client (re)subscribed at an agent (client side)
	WatchQuorum    = "quorum"     // the side-quorum verdict changed (majority, alive, full)
	WatchConflict  = "conflict"   // a duplicate key was resolved after a heal (From lost, To won)

	WatchHandoffStarted  = "handoff-started"  // a key started moving From → To (Cluster.Watch only)
	WatchHandoffFinished = "handoff-finished" // the key lives on To now (Cluster.Watch only)
	WatchHandoffFailed   = "handoff-failed"   // the push or pull gave up (Cluster.Watch only)
)

// localOnly: handoff events are not sent to remote watchers (a rebalance
// makes thousands).
func localOnly(t string) bool {
	return t == WatchHandoffStarted || t == WatchHandoffFinished || t == WatchHandoffFailed
}

// localWatchBuffer is the capacity of a Cluster.Watch channel; events
// that do not fit are dropped (counted in Stats.EventsDropped).
const localWatchBuffer = 256

// maxWatchers bounds the watchers one node serves.
const maxWatchers = 256

// watchPoll is how often the watcher looks for a new ownership view.
const watchPoll = 50 * time.Millisecond

// watcher streams membership and view changes to subscribed PIDs (the
// placer.watch rpc). Its two goroutines start with the first subscriber
// and end at Close: one forwards events, one removes subscribers whose
// monitor fired (the process exited or its node went away).
type watcher struct {
	c *Cluster

	mu      sync.Mutex            // guards subs, local, started, inbox
	subs    map[node.PID]node.Ref // subscriber → monitor ref (on inbox)
	local   map[chan WatchEvent]struct{}
	started bool        // the goroutines run
	inbox   *node.Inbox // monitors the subscribers
}

// add subscribes pid, starting the goroutines on first use.
func (w *watcher) add(pid node.PID) error {
	if pid.IsZero() || pid.ID == 0 {
		return fmt.Errorf("%w: watch needs a process or inbox PID", ErrBadRequest)
	}
	inbox, err := w.start()
	if err != nil {
		return err
	}
	ref := inbox.Monitor(pid) // not under w.mu: a remote monitor sends a frame
	w.mu.Lock()
	_, dup := w.subs[pid]
	full := len(w.subs) >= maxWatchers
	if !dup && !full {
		w.subs[pid] = ref
	}
	w.mu.Unlock()
	if dup || full {
		inbox.Demonitor(ref)
	}
	if full {
		return fmt.Errorf("%w: %d watchers already", ErrBusy, maxWatchers)
	}
	return nil
}

// start creates the inbox and starts the goroutines once.
func (w *watcher) start() (*node.Inbox, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return w.inbox, nil
	}
	inbox, err := w.c.node.NewInbox()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrShutdown, err)
	}
	if !w.c.goTracked(func() { w.downLoop(inbox) }) {
		inbox.Close()
		return nil, ErrShutdown
	}
	if !w.c.goTracked(w.eventLoop) {
		return nil, ErrShutdown // downLoop ends with the cluster's ctx
	}
	w.inbox, w.started = inbox, true
	return inbox, nil
}

// downLoop drops subscribers whose monitor fired.
func (w *watcher) downLoop(inbox *node.Inbox) {
	defer inbox.Close()
	for {
		m, err := inbox.Receive(w.c.ctx)
		if err != nil {
			return
		}
		if d, ok := m.(node.Down); ok {
			w.mu.Lock()
			if w.subs[d.PID] == d.Ref {
				delete(w.subs, d.PID)
			}
			w.mu.Unlock()
		}
	}
}

// eventLoop turns membership changes and view changes into WatchEvents.
func (w *watcher) eventLoop() {
	defer w.closeLocal()
	var views <-chan membership.View
	if w.c.mem != nil {
		ch, cancel := w.c.mem.Subscribe()
		defer cancel()
		views = ch
		select { // the first View is a baseline, not a change
		case <-views:
		case <-w.c.ctx.Done():
			return
		}
	}
	tick := time.NewTicker(watchPoll)
	defer tick.Stop()
	last := w.c.View()
	var lastQ membership.Quorum
	if w.c.mem != nil {
		lastQ = w.c.mem.Quorum()
	}
	for {
		select {
		case v, ok := <-views:
			if !ok {
				views = nil
				continue
			}
			for _, ch := range v.Changes {
				if ev, ok := w.changeEvent(ch); ok {
					w.publish(ev)
				}
			}
			if v.Quorum.Majority != lastQ.Majority || len(v.Quorum.Full) != len(lastQ.Full) || v.Quorum.Alive != lastQ.Alive {
				lastQ = v.Quorum
				w.publish(w.quorumEvent(v.Quorum))
			}
		case <-tick.C:
		case <-w.c.ctx.Done():
			return
		}
		if cur := w.c.View(); cur != last {
			last = cur
			w.publish(WatchEvent{
				Type: WatchView, Time: time.Now(), Agent: w.c.self, Epoch: cur.Epoch,
				Checksum: Checksum(cur.Checksum), Members: len(cur.Members), Draining: slices.Clone(cur.Draining),
			})
		}
	}
}

// changeEvent describes a membership change.
func (w *watcher) changeEvent(ch membership.Change) (WatchEvent, bool) {
	ev := WatchEvent{Time: time.Now(), Agent: w.c.self, Node: ch.Member.Name, Reason: ch.Kind.String()}
	switch ch.Kind {
	case membership.ChangeJoin, membership.ChangeRejoin:
		ev.Type = WatchNodeUp
	case membership.ChangeLeave, membership.ChangeFailed, membership.ChangeReap:
		ev.Type = WatchNodeDown
	case membership.ChangeUpdate:
		ev.Type, ev.Reason = WatchUpdate, ""
	default:
		return ev, false
	}
	return ev, true
}

// publish sends ev to every subscriber (outside the lock: a remote send
// may wait for room in the transport's queue); handoff events only to
// the local ones.
func (w *watcher) publish(ev WatchEvent) {
	w.mu.Lock()
	for ch := range w.local {
		select {
		case ch <- ev:
		default:
			w.c.stats.eventsDropped.Add(1)
		}
	}
	pids := make([]node.PID, 0, len(w.subs))
	for p := range w.subs {
		pids = append(pids, p)
	}
	w.mu.Unlock()
	if localOnly(ev.Type) || len(pids) == 0 {
		return
	}
	b, err := node.Encode(w.c.node, ev)
	if err != nil {
		w.c.log.Error().Err(err).Msg("watch event not encodable")
		return
	}
	for _, p := range pids {
		_ = w.c.node.Send(p, b) // a dead subscriber's monitor removes it
	}
}

// watchLocal adds a local subscriber until ctx ends or the cluster
// closes (then its channel is closed).
func (w *watcher) watchLocal(ctx context.Context) (<-chan WatchEvent, error) {
	if _, err := w.start(); err != nil {
		return nil, err
	}
	ch := make(chan WatchEvent, localWatchBuffer)
	w.mu.Lock()
	if w.c.isClosing() {
		w.mu.Unlock()
		return nil, ErrShutdown
	}
	w.local[ch] = struct{}{}
	w.mu.Unlock()
	context.AfterFunc(ctx, func() { w.dropLocal(ch) })
	return ch, nil
}

// dropLocal removes and closes a local subscriber's channel, once.
func (w *watcher) dropLocal(ch chan WatchEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.local[ch]; ok {
		delete(w.local, ch)
		close(ch)
	}
}

// closeLocal closes every local subscriber (the cluster is closing).
func (w *watcher) closeLocal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.local {
		delete(w.local, ch)
		close(ch)
	}
}

// fromEvent publishes a handoff or conflict Event to the watchers.
func (w *watcher) fromEvent(ev Event) {
	w.mu.Lock()
	idle := len(w.local) == 0 && (len(w.subs) == 0 || ev.Type != EventConflict)
	w.mu.Unlock()
	if idle {
		return
	}
	types := map[EventType]string{EventHandoffStarted: WatchHandoffStarted, EventHandoffFinished: WatchHandoffFinished,
		EventHandoffFailed: WatchHandoffFailed, EventConflict: WatchConflict}
	t, ok := types[ev.Type]
	if !ok {
		return
	}
	we := WatchEvent{Type: t, Time: ev.Time, Agent: w.c.self, Kind: ev.Kind, Key: ev.Key, From: ev.From, To: ev.To}
	if ev.Err != nil {
		we.Error = ev.Err.Error()
	}
	w.publish(we)
}

// quorumEvent is the event of a changed quorum verdict.
func (w *watcher) quorumEvent(q membership.Quorum) WatchEvent {
	maj := q.Majority
	return WatchEvent{Type: WatchQuorum, Time: time.Now(), Agent: w.c.self, Majority: &maj, Alive: q.Alive, Full: len(q.Full)}
}

// String renders the event as one line of text (`placer monitor`), its
// time local to the millisecond.
func (ev WatchEvent) String() string {
	ts := ev.Time.Local().Format("15:04:05.000")
	switch ev.Type {
	case WatchView:
		return fmt.Sprintf("%s %-10s epoch %d, %d members, checksum %s%s  [%s]", ts, ev.Type, ev.Epoch, ev.Members,
			ev.Checksum, drainingText(ev.Draining), ev.Agent)
	case WatchAgent:
		return fmt.Sprintf("%s %-10s watching the cluster through %s", ts, ev.Type, ev.Node)
	case WatchAgentDown:
		return fmt.Sprintf("%s %-10s lost %s (%s); looking for another agent", ts, ev.Type, ev.Node, ev.Reason)
	case WatchQuorum:
		verdict := "majority"
		if ev.Majority == nil || !*ev.Majority {
			verdict = "NO majority"
		}
		return fmt.Sprintf("%s %-10s %s: %d of %d alive  [%s]", ts, ev.Type, verdict, ev.Alive, ev.Full, ev.Agent)
	case WatchConflict, WatchHandoffStarted, WatchHandoffFinished, WatchHandoffFailed:
		text := fmt.Sprintf("%s %-10s {%s, %s} %s -> %s", ts, ev.Type, ev.Kind, ev.Key, ev.From, ev.To)
		if ev.Error != "" {
			text += ": " + ev.Error
		}
		return text + "  [" + ev.Agent + "]"
	}
	reason := ""
	if ev.Reason != "" {
		reason = " (" + ev.Reason + ")"
	}
	return fmt.Sprintf("%s %-10s %s%s  [%s]", ts, ev.Type, ev.Node, reason, ev.Agent)
}

func drainingText(d []string) string {
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprintf(", draining %v", d)
}
