package node

import (
	"sync"
	"sync/atomic"
	"time"
)

// envKind says what an envelope carries.
type envKind uint8

const (
	envMsg      envKind = iota // user message
	envCall                    // call: from, ref, payload, deadline
	envDown                    // monitor fired: ref, from = dead pid, sys
	envExit                    // exit signal: from, sys.reason, sys.link, sys.kill
	envNodeUp                  // sys.name, sys.hidden
	envNodeDown                // sys.name, sys.hidden, sys.err
	envFreeze                  // sys.freeze
	envThaw                    // resume after Freeze
	envHandoff                 // sys.handoff
	envShutdown                // node shutdown
)

// envelope is one mailbox entry. Fields used by rare kinds live behind sys
// so that the common ones (messages and calls) stay small.
type envelope struct {
	kind     envKind
	from     PID
	payload  []byte
	ref      uint64
	deadline int64 // call: caller's deadline in UnixNano, 0 = none
	sys      *sysInfo
}

type sysInfo struct {
	reason  Reason
	name    string // Down: the name monitored; node events: the node
	node    string // Down: the monitored process's node
	hidden  bool   // node events
	link    bool   // exit: a link's exit signal (vs Node.Exit)
	kill    bool   // exit: untrappable kill
	err     error  // NodeDown reason
	freeze  *freezeCtl
	handoff *handoffCtl
}

// pushResult is the outcome of putting an envelope in a mailbox.
type pushResult uint8

const (
	pushOK      pushResult = iota
	pushFull               // bounded and full: dropped
	pushClosed             // the owner exited
	pushForward            // the owner was handed off: forward to mailbox.fwd
)

// mailbox is a process's queue: a ring of envelopes in arrival order, plus an
// urgent lane for control signals (exit signals that kill, thaw, handoff,
// shutdown) that are acted on before queued messages and even while frozen.
// Only user messages and calls count against the limit.
type mailbox struct {
	mu      sync.Mutex // guards the fields up to notify
	ring    []envelope
	head, n int
	urgent  []envelope
	user    int // bounded envelopes in ring
	limit   int
	closed  bool
	fwd     PID // handoff target once forwarding; zero otherwise

	// fwdMu is held while forwarding, so that what was queued at handoff
	// leaves before anything that arrives later.
	fwdMu   sync.Mutex
	notify  chan struct{} // capacity 1: "something was pushed"
	dropped atomic.Uint64 // bounded envelopes refused because full
}

func newMailbox(limit int) *mailbox {
	return &mailbox{limit: limit, notify: make(chan struct{}, 1)}
}

func (m *mailbox) wake() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// push appends e; bounded envelopes are refused when the mailbox is full.
func (m *mailbox) push(e envelope, bounded bool) pushResult {
	m.mu.Lock()
	if r := m.refuseLocked(); r != pushOK {
		m.mu.Unlock()
		return r
	}
	if bounded && m.user >= m.limit {
		m.mu.Unlock()
		m.dropped.Add(1)
		return pushFull
	}
	if bounded {
		m.user++
	}
	m.appendLocked(e)
	m.mu.Unlock()
	m.wake()
	return pushOK
}

// pushUrgent puts e on the urgent lane.
func (m *mailbox) pushUrgent(e envelope) pushResult {
	m.mu.Lock()
	if r := m.refuseLocked(); r != pushOK {
		m.mu.Unlock()
		return r
	}
	m.urgent = append(m.urgent, e)
	m.mu.Unlock()
	m.wake()
	return pushOK
}

func (m *mailbox) refuseLocked() pushResult {
	switch {
	case !m.fwd.IsZero():
		return pushForward
	case m.closed:
		return pushClosed
	}
	return pushOK
}

func (m *mailbox) appendLocked(e envelope) {
	if m.n == len(m.ring) {
		m.growLocked()
	}
	m.ring[(m.head+m.n)%len(m.ring)] = e
	m.n++
}

func (m *mailbox) growLocked() {
	size := 2 * len(m.ring)
	if size < 8 {
		size = 8
	}
	ring := make([]envelope, size)
	for i := range m.n {
		ring[i] = m.ring[(m.head+i)%len(m.ring)]
	}
	m.ring, m.head = ring, 0
}

// pop takes the next envelope: urgent ones first; only urgent ones while
// frozen. ok is false if there is none.
func (m *mailbox) pop(frozen bool) (e envelope, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.urgent) > 0 {
		e = m.urgent[0]
		m.urgent[0] = envelope{}
		m.urgent = m.urgent[1:]
		return e, true
	}
	if frozen || m.n == 0 {
		return e, false
	}
	return m.popRingLocked(), true
}

func (m *mailbox) popRingLocked() envelope {
	e := m.ring[m.head]
	m.ring[m.head] = envelope{}
	m.head = (m.head + 1) % len(m.ring)
	m.n--
	if e.kind == envMsg || e.kind == envCall {
		m.user--
	}
	return e
}

// close refuses everything from now on and returns what was still queued,
// in order (urgent lane first).
func (m *mailbox) close() []envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return m.takeAllLocked()
}

func (m *mailbox) takeAllLocked() []envelope {
	out := append([]envelope(nil), m.urgent...)
	m.urgent = nil
	for m.n > 0 {
		out = append(out, m.popRingLocked())
	}
	return out
}

// startForward switches the mailbox to forwarding to pid and returns what
// was queued, with fwdMu held: the caller forwards the backlog, then
// unlocks fwdMu, and only then can later arrivals be forwarded after it.
func (m *mailbox) startForward(pid PID) []envelope {
	m.mu.Lock()
	m.fwd = pid
	m.closed = true
	m.fwdMu.Lock()
	left := m.takeAllLocked()
	m.mu.Unlock()
	return left
}

// forwardTarget is the PID a handed-off mailbox forwards to.
func (m *mailbox) forwardTarget() PID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fwd
}

// length is the number of queued envelopes.
func (m *mailbox) length() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n + len(m.urgent)
}

// deadlineOf converts a call deadline to the envelope's representation.
func deadlineOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// expired reports whether a call envelope's caller has given up.
func (e *envelope) expired(now time.Time) bool {
	return e.deadline != 0 && now.UnixNano() > e.deadline
}
