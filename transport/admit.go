package transport

import "net"

// Admission of inbound connections before they authenticate
// (docs/protocol.md §4, "Admission"). Unauthenticated connections must never
// starve authenticated ones: a flood of silent or wrong-cookie connections
// only ever displaces its own kind, so a member or a CLI still gets in.
//
//   - Every inbound connection is pending until its handshake ends, and each
//     handshake message it owes must arrive within HelloTimeout.
//   - At most MaxPendingHandshakes are pending. At the cap, a new connection
//     displaces a pending one that is waiting for its peer, preferring, in
//     order: one that is not a known member (a member is one whose Hello
//     claims a name the address book maps to its source address), one from
//     an address that is not a known member's, one still owing its Hello
//     (silent), the oldest. A new connection from an unknown address never
//     displaces one from a known member's address. If nothing can go, the
//     new one is refused.
//   - At most MaxPendingPerHost are pending per unknown IP address; over it a
//     new connection displaces that address's oldest waiting one, or is
//     refused.
//   - Only a connection whose goroutine has run and now waits for the peer
//     may be displaced: a legitimate dialer's Hello is usually there already
//     when its connection is first served.

// hsStage is how far an inbound handshake has come.
type hsStage uint8

const (
	stageHello   hsStage = iota // waiting for the TLS handshake and the Hello
	stageAuth                   // Hello received and answered: waiting for the Auth
	stageConfirm                // ALIVE sent: waiting for the Confirm
)

// inbound is one inbound connection in its handshake. Its fields other than
// nc and host are guarded by Endpoint.mu.
type inbound struct {
	nc      net.Conn
	host    string // the remote IP address
	known   bool   // host is a known member's address (decided at accept)
	member  bool   // its Hello claims a name whose known address is host
	stage   hsStage
	waiting bool   // its goroutine has run and waits for the peer: it may be displaced
	evicted bool   // displaced by a newer connection
	seq     uint64 // admission order
}

// refusal is admission's answer for a new connection.
type refusal uint8

const (
	admitted       refusal = iota
	refusedBusy            // MaxPendingHandshakes reached and nothing could be displaced
	refusedPerHost         // MaxPendingPerHost reached for its address and nothing could be displaced
)

// admission is the bookkeeping of pending inbound connections: pure, no I/O
// (the endpoint closes what it says), guarded by Endpoint.mu.
type admission struct {
	maxPending, maxPerHost int
	pending                map[*inbound]struct{}
	perHost                map[string]int // pending connections per unknown address
	seq                    uint64
}

func newAdmission(maxPending, maxPerHost int) admission {
	return admission{maxPending: maxPending, maxPerHost: maxPerHost,
		pending: make(map[*inbound]struct{}), perHost: make(map[string]int)}
}

// admit decides on the new connection in: admitted (after displacing
// victim, if not nil, which the caller closes) or refused.
func (a *admission) admit(in *inbound) (victim *inbound, r refusal) {
	switch {
	case !in.known && a.perHost[in.host] >= a.maxPerHost:
		victim = a.pick(func(v *inbound) bool { return !v.known && v.host == in.host })
		r = refusedPerHost
	case len(a.pending) >= a.maxPending:
		victim = a.pick(func(v *inbound) bool { return in.known || !v.known })
		r = refusedBusy
	default:
		r = admitted
	}
	if r != admitted && victim == nil {
		return nil, r
	}
	if victim != nil {
		a.remove(victim)
		victim.evicted = true
	}
	a.seq++
	in.seq = a.seq
	a.pending[in] = struct{}{}
	if !in.known {
		a.perHost[in.host]++
	}
	return victim, admitted
}

// pick returns the waiting connection that may go first among those ok
// accepts (unknown address, then silent, then oldest), or nil.
func (a *admission) pick(ok func(*inbound) bool) *inbound {
	var best *inbound
	for v := range a.pending {
		if v.waiting && ok(v) && (best == nil || displaceBefore(v, best)) {
			best = v
		}
	}
	return best
}

// displaceBefore orders candidates for displacement.
func displaceBefore(v, w *inbound) bool {
	if v.member != w.member {
		return !v.member
	}
	if v.known != w.known {
		return !v.known
	}
	if (v.stage == stageHello) != (w.stage == stageHello) {
		return v.stage == stageHello
	}
	return v.seq < w.seq
}

// progress records that in's goroutine now waits for the peer at stage;
// member says whether its Hello named a known member at its address.
func (a *admission) progress(in *inbound, stage hsStage, member bool) {
	in.stage, in.waiting, in.member = stage, true, member
}

// remove forgets in (a no-op if it is not pending).
func (a *admission) remove(in *inbound) {
	if _, ok := a.pending[in]; !ok {
		return
	}
	delete(a.pending, in)
	if !in.known {
		if a.perHost[in.host]--; a.perHost[in.host] == 0 {
			delete(a.perHost, in.host)
		}
	}
}

// hostOf is the IP address of a remote network address.
func hostOf(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
