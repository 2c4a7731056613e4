package global

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
)

// lockProc is the authority of one lock id: a keyed process of KindLock on
// the id's owner. It grants the lock first come, first served, counts
// nested SetLocks, monitors the holder and the waiters, and issues the
// fencing tokens (HLC timestamps of its node, above every token issued or
// learned for the id).
type lockProc struct {
	node.Base
	s         *Service
	p         *node.Proc
	id        string
	core      lockCore
	mons      map[node.PID]node.Ref // holder and waiters
	recovered bool
	idle      idleTimer
	wake      *time.Timer // a tick at the next waiter deadline
}

func (s *Service) newLockProc() node.Behavior {
	return &lockProc{s: s, mons: map[node.PID]node.Ref{}}
}

func (a *lockProc) Init(p *node.Proc, args []byte) error {
	a.p, a.id = p, string(args)
	if err := checkName(a.id); err != nil {
		return err
	}
	self, tick := p.Self(), request{op: opTick}.encode()
	a.wake = time.AfterFunc(time.Hour, func() { _ = p.Send(self, tick) })
	a.wake.Stop()
	a.idle.start(p, a.s.cfg.IdleTimeout)
	a.s.lockUp(a.id, a.info())
	return nil
}

func (a *lockProc) Terminate(*node.Proc, node.Reason) {
	a.idle.stop()
	a.wake.Stop()
	a.s.lockDown(a.id)
}

// next issues a token: above every token issued or learned for the id.
func (a *lockProc) next() uint64 {
	a.s.clock.observe(a.core.last)
	return a.s.clock.now()
}

// ExportState hands the holder and the tokens over; waiters are told to
// retry (their calls cannot move), and re-queue at the next owner.
func (a *lockProc) ExportState(*node.Proc) ([]byte, error) {
	for _, w := range a.core.waiters {
		a.answer(answer{handle: w.handle, status: stMoved})
	}
	a.core.waiters = nil
	c := a.core
	b := binary.BigEndian.AppendUint64(appendPID(nil, c.holder), c.token)
	b = binary.AppendUvarint(b, uint64(c.count))
	b = binary.BigEndian.AppendUint64(b, c.reqID)
	return binary.BigEndian.AppendUint64(b, c.last), nil
}

// ImportState takes the previous authority's holder and tokens.
func (a *lockProc) ImportState(_ *node.Proc, b []byte) error {
	c, err := decodeLockState(b)
	if err != nil {
		return err
	}
	a.core, a.recovered = c, true
	a.s.clock.observe(c.last)
	a.s.stats.imported.Add(1)
	a.settle()
	return nil
}

// decodeLockState decodes ExportState's bytes:
//
//	PID holder | u64 token | uvarint count | u64 request id | u64 last token
func decodeLockState(b []byte) (lockCore, error) {
	r := reader{b: b}
	c := lockCore{holder: r.pid(), token: r.u64(), count: int(r.uvarint()), reqID: r.u64(), last: r.u64()}
	return c, r.end()
}

// HandleCall serves acquire (deferred while queued), release, status and
// claims.
func (a *lockProc) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	q, err := a.s.decode(req)
	if err != nil {
		return reply{status: stBad, text: err.Error()}.encode(replyEmpty), nil
	}
	a.idle.touch()
	defer a.settle()
	if q.op == opStatus {
		return a.reply(stOK, a.info()).encode(replyLockInfo), nil
	}
	if !a.s.owns(a.id) {
		return a.reply(stMoved, LockInfo{}).encode(replyEmpty), nil
	}
	a.recover()
	return a.serve(q)
}

func (a *lockProc) serve(q request) ([]byte, error) {
	switch q.op {
	case opAcquire:
		a.acquire(q)
		return nil, nil
	case opRelease:
		return a.release(q.pid).encode(replyGrant), nil
	case opLockClaim:
		return a.claim(q).encode(replyEmpty), nil
	}
	return reply{status: stBad, text: fmt.Sprintf("op %d is not a lock op", q.op)}.encode(replyEmpty), nil
}

func (a *lockProc) reply(status uint8, l LockInfo) reply {
	l.ID, l.Authority = a.id, a.s.nodeName()
	return reply{status: status, hlc: a.s.clock.now(), lock: l}
}

// acquire answers through a deferred reply: now if granted or refused,
// later if queued.
func (a *lockProc) acquire(q request) {
	h := a.p.DeferReply()
	if a.s.cfg.LockQuorum && !a.s.quorum() {
		a.answer(answer{handle: h, status: stNoQuorum})
		return
	}
	w := waiting{requester: q.pid, reqID: q.reqID, since: time.Now(), handle: h}
	res, out := a.core.acquire(w, q.wait, a.next)
	switch res {
	case acqGranted:
		out = append(out, answer{handle: h, status: stOK, lock: a.core.info()})
	case acqBusy:
		out = append(out, answer{handle: h, status: stBusy})
	case acqQueued:
		a.s.stats.lockWaits.Add(1)
	}
	a.answerAll(out)
}

func (a *lockProc) release(pid node.PID) reply {
	ok, out := a.core.release(pid, time.Now(), a.next)
	a.answerAll(out)
	if !ok {
		return a.reply(stNotHeld, LockInfo{})
	}
	return a.reply(stOK, a.core.info())
}

// claim: a node reports that one of its processes holds the lock.
func (a *lockProc) claim(q request) reply {
	adopted, loser, lt := a.core.claim(q.pid, q.token, int(q.count))
	if !loser.IsZero() {
		a.s.lockConflict(a.p, a.id, loser, a.core.holder, lt)
	}
	if loser == q.pid {
		return a.reply(stNotHeld, LockInfo{})
	}
	if adopted {
		a.s.stats.lockAdopted.Add(1)
	}
	return a.reply(stOK, LockInfo{})
}

// answer sends one owed reply.
func (a *lockProc) answer(an answer) {
	h, ok := an.handle.(*node.Reply)
	if !ok || h == nil {
		return
	}
	k := replyEmpty
	switch an.status {
	case stOK:
		k = replyGrant
		a.s.stats.grants.Add(1)
		a.s.stats.lockWaitNanos.Add(uint64(an.waited))
	case stTimeout:
		a.s.stats.lockTimeouts.Add(1)
	}
	h.Send(a.reply(an.status, an.lock).encode(k), nil)
}

func (a *lockProc) answerAll(out []answer) {
	for _, an := range out {
		a.answer(an)
	}
}

// HandleMessage: DOWN of the holder or a waiter, cancels and ticks.
func (a *lockProc) HandleMessage(_ *node.Proc, m node.Msg) {
	defer a.settle()
	switch m := m.(type) {
	case node.Down:
		if ref, ok := a.mons[m.PID]; ok && ref == m.Ref {
			delete(a.mons, m.PID)
			a.answerAll(a.core.down(m.PID, time.Now(), a.next))
		}
	case node.Message:
		a.message(m.Payload)
	}
}

func (a *lockProc) message(payload []byte) {
	q, err := a.s.decode(payload)
	if err != nil {
		return
	}
	switch q.op {
	case opCancel:
		a.answerAll(a.core.cancel(q.pid, q.reqID, time.Now(), a.next))
	case opLockClaim: // a losing copy's holder (placement conflict)
		if a.s.owns(a.id) {
			a.claim(q)
		}
	case opTick:
		a.answerAll(a.core.expire(time.Now()))
		if a.idle.due() && a.core.idle() {
			a.p.Exit(node.Reason{Kind: node.Normal})
		}
	}
}

// maxIdleMonitors bounds the monitors a lock keeps on requesters that
// neither hold nor wait for it: kept, a requester that takes the lock
// again costs no monitor and demonitor frames.
const maxIdleMonitors = 64

// settle monitors the holder and the waiters (and keeps up to
// maxIdleMonitors monitors of earlier requesters), re-arms the deadline
// timer and reports the lock's state to the service.
func (a *lockProc) settle() {
	want := a.wanted()
	for pid := range want {
		if _, ok := a.mons[pid]; !ok {
			a.mons[pid] = a.p.Monitor(pid)
		}
	}
	if len(a.mons) > len(want)+maxIdleMonitors {
		for pid, ref := range a.mons {
			if !want[pid] {
				a.p.Demonitor(ref)
				delete(a.mons, pid)
			}
		}
	}
	if d := a.core.nextDeadline(); !d.IsZero() {
		a.wake.Reset(max(time.Until(d), time.Millisecond))
	}
	a.s.lockUp(a.id, a.info())
}

// wanted is the set of processes the lock must watch.
func (a *lockProc) wanted() map[node.PID]bool {
	want := make(map[node.PID]bool, 1+len(a.core.waiters))
	if !a.core.holder.IsZero() {
		want[a.core.holder] = true
	}
	for _, w := range a.core.waiters {
		want[w.requester] = true
	}
	return want
}

func (a *lockProc) info() LockInfo {
	l := a.core.info()
	l.ID, l.Authority = a.id, a.s.nodeName()
	return l
}

// recover: a fresh authority in a young view asks every visible node which
// of its processes holds the lock, and learns their clocks, before its
// first grant.
func (a *lockProc) recover() {
	if a.recovered {
		return
	}
	a.recovered = true
	if !a.s.viewYoung() {
		return
	}
	for _, l := range a.s.recoverLock(a.id) {
		if _, loser, lt := a.core.claim(l.Holder, l.Token, l.Count); !loser.IsZero() {
			a.s.lockConflict(a.p, a.id, loser, a.core.holder, lt)
		}
	}
}
