package global

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/placerhq/placer/node"
)

// nameProc is the authority of one global name: a keyed process of
// KindName on the name's owner, so placement routes to it, hands it off
// with its state and (with replication) keeps copies. It serialises
// registrations, monitors the holder and publishes every change. Its
// callbacks run on its own goroutine, one at a time.
type nameProc struct {
	node.Base
	s         *Service
	p         *node.Proc
	name      string
	rec       record
	pub       uint64   // the version of the record last published
	ref       node.Ref // monitor of watched
	watched   node.PID
	recovered bool
	loser     node.PID // the last conflict's loser
	graves    []grave  // the registrations this authority ended (newest last)
	idle      idleTimer
	// deferWatch: a call is being served; its answer goes out before the
	// holder is watched and the change published.
	deferWatch bool
}

func (s *Service) newNameProc() node.Behavior { return &nameProc{s: s} }

// Init starts from this node's replica of the name (a witness like any
// claim; the owner's replica holds what its earlier authorities decided).
func (a *nameProc) Init(p *node.Proc, args []byte) error {
	a.p, a.name = p, string(args)
	if err := checkName(a.name); err != nil {
		return err
	}
	a.rec = record{name: a.name}
	if e, ok := a.s.tab.get(a.name); ok {
		a.rec = e.rec
	}
	a.watch()
	a.s.authUp(a.name, p.Self())
	a.idle.start(p, a.s.cfg.IdleTimeout)
	return nil
}

// Terminate tells the service the authority is gone.
func (a *nameProc) Terminate(*node.Proc, node.Reason) {
	a.idle.stop()
	a.s.authDown(a.name, a.p.Self())
}

// ExportState hands the record to the name's next owner.
func (a *nameProc) ExportState(*node.Proc) ([]byte, error) {
	return encodeState(a.rec, a.loser, a.graves), nil
}

// ImportState takes the previous authority's record and announces it:
// nodes whose view moved first may have refused the old owner's last word.
func (a *nameProc) ImportState(_ *node.Proc, b []byte) error {
	rec, loser, graves, err := decodeState(b, a.name)
	if err != nil {
		return err
	}
	a.loser, a.graves = loser, graves
	a.s.clock.observe(rec.version)
	a.rec, a.recovered = rec, true
	a.watch()
	if a.rec.state != stateNone {
		a.change(a.rec)
	}
	a.s.stats.imported.Add(1)
	return nil
}

// HandleCall serves register, unregister and resolve.
// The answer goes out first; then the process monitors a new holder and
// publishes the change (neither needs to delay the caller: a holder that
// dies meanwhile is reported by the monitor as noproc).
func (a *nameProc) HandleCall(p *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	q, err := a.s.decode(req)
	if err != nil {
		return reply{status: stBad, text: err.Error()}.encode(replyRecord), nil
	}
	a.idle.touch()
	a.deferWatch = true
	out := a.serve(q).encode(replyRecord)
	a.deferWatch = false
	p.DeferReply().Send(out, nil)
	a.watch()
	a.publish()
	return nil, nil
}

func (a *nameProc) serve(q request) reply {
	if !a.s.owns(a.name) {
		return reply{status: stMoved, hlc: a.s.clock.now()}
	}
	a.recover()
	switch q.op {
	case opRegister:
		return a.register(q.pid)
	case opUnregister:
		return a.unregister(q.pid)
	case opResolve:
		return a.ok()
	}
	return reply{status: stBad, text: fmt.Sprintf("op %d is not a name op", q.op)}
}

func (a *nameProc) ok() reply { return reply{status: stOK, hlc: a.s.clock.now(), rec: a.rec} }

func (a *nameProc) register(pid node.PID) reply {
	if a.rec.live() && a.rec.pid != pid && a.s.stale(a.rec.pid) {
		a.end(stateGone) // its DOWN has not come yet
	}
	switch {
	case a.rec.live() && a.rec.pid != pid:
		return reply{status: stTaken, hlc: a.s.clock.now(), rec: a.rec}
	case a.rec.live():
		return a.ok()
	}
	now := a.s.clock.now()
	a.change(record{name: a.name, state: stateLive, pid: pid, reg: now})
	a.s.stats.registered.Add(1)
	return a.ok()
}

func (a *nameProc) unregister(pid node.PID) reply {
	if !a.rec.live() || (!pid.IsZero() && pid != a.rec.pid) {
		return reply{status: stNotRegistered, hlc: a.s.clock.now()}
	}
	a.end(stateTomb)
	return a.ok()
}

// end ends the live registration: a tombstone (unregistered, exited) or
// gone (contact lost).
func (a *nameProc) end(st recState) {
	if st == stateTomb {
		a.bury(a.rec)
	}
	a.change(record{name: a.name, state: st, pid: a.rec.pid, reg: a.rec.reg, at: a.s.clock.now()})
}

// grave is a registration (holder and registration time) that an
// authority of the name ended for good: unregistered, or its holder
// exited.
type grave struct {
	pid node.PID
	reg uint64
}

// maxGraves bounds the ended registrations an authority keeps.
const maxGraves = 16

// bury remembers that the live registration rec ended for good. Once the
// name is registered again the tombstone is gone, and a record of the
// ended registration that arrives late (a claim sent before the
// unregistration, the state of a stale copy of this authority) would be
// a live holder like any other: the resolver could pick it over the new
// one, bringing an unregistered name back. The graves refuse it.
func (a *nameProc) bury(rec record) {
	if !rec.live() || a.buried(rec) {
		return
	}
	a.graves = append(a.graves, grave{pid: rec.pid, reg: rec.reg})
	if len(a.graves) > maxGraves {
		a.graves = slices.Delete(a.graves, 0, len(a.graves)-maxGraves)
	}
}

// buried reports whether live record rec is a registration this
// authority ended.
func (a *nameProc) buried(rec record) bool {
	return slices.Contains(a.graves, grave{pid: rec.pid, reg: rec.reg})
}

// change adopts rec with a new version, watches its holder and publishes
// it (after the answer, inside a call).
func (a *nameProc) change(rec record) {
	rec.name, rec.version = a.name, a.s.clock.now()
	a.rec = rec
	if !a.deferWatch {
		a.watch()
		a.publish()
	}
}

// publish makes the record known if this node owns the name and has not
// published this version yet. Otherwise the record moves with the handoff
// and is announced by the next owner, or waits until this node owns the
// name (or its service started): every message handled calls it again.
func (a *nameProc) publish() {
	if a.pub != a.rec.version && a.rec.state != stateNone && a.s.owns(a.name) {
		a.s.publish(a.rec)
		a.pub = a.rec.version
	}
}

// watch monitors the live holder (and only it).
func (a *nameProc) watch() {
	want := node.PID{}
	if a.rec.live() {
		want = a.rec.pid
	}
	if want == a.watched {
		return
	}
	if !a.watched.IsZero() {
		a.p.Demonitor(a.ref)
	}
	a.watched = want
	if !want.IsZero() {
		a.ref = a.p.Monitor(want)
	}
}

// HandleMessage handles the holder's DOWN, claims and the idle tick.
func (a *nameProc) HandleMessage(_ *node.Proc, m node.Msg) {
	defer a.publish()
	switch m := m.(type) {
	case node.Down:
		a.down(m)
	case node.Message:
		a.message(m.Payload)
	}
}

// down: the holder exited (tombstone), moved (the name follows it to its
// new PID) or its node is out of reach (gone: it may come back).
func (a *nameProc) down(d node.Down) {
	if d.Ref != a.ref || a.watched.IsZero() {
		return
	}
	a.watched = node.PID{}
	switch d.Reason.Kind {
	case node.Handoff:
		rec := a.rec
		rec.pid = d.Reason.NewPID
		a.change(rec)
	case node.NoConnection:
		a.end(stateGone)
	default:
		a.end(stateTomb)
	}
}

func (a *nameProc) message(payload []byte) {
	q, err := a.s.decode(payload)
	if err != nil {
		return
	}
	switch q.op {
	case opTick:
		if a.idle.due() && !a.rec.live() {
			a.p.Exit(node.Reason{Kind: node.Normal})
		}
	case opClaim:
		a.claim(q)
	}
}

// claim folds in what another node knows (after a view change, a heal,
// a crash). Only the owner's authority takes claims: the claimant retries
// until its view and the owner's agree.
func (a *nameProc) claim(q request) {
	if !a.s.owns(a.name) {
		return
	}
	a.idle.touch()
	a.fold(q.rec, q.claimant)
}

// fold merges rec into the record; a change is published, no change is
// confirmed to the claimant; the loser of two live holders is told.
func (a *nameProc) fold(rec record, claimant string) {
	if rec.live() && a.buried(rec) {
		// A registration this authority ended, told late: it stays
		// ended, and the claimant learns what holds now.
		if claimant != "" {
			a.s.ackTo(claimant, a.rec)
		}
		return
	}
	if rec.live() && a.s.stale(rec.pid) {
		rec.state = stateGone // a holder known dead is not adopted
	}
	m := merge(a.rec, rec, a.s.cfg.Resolve)
	if m.conflict && m.loser.pid != a.loser {
		a.loser = m.loser.pid // other nodes may claim it too: told once
		a.s.nameConflict(a.p, m.loser, m.next)
	}
	if m.changed {
		a.change(m.next)
	} else if claimant != "" {
		a.s.ackTo(claimant, a.rec)
	}
}

// recover: a fresh authority in a young view first asks every visible node
// what it knows of the name, so that a registration its crashed
// predecessor made is not granted twice.
func (a *nameProc) recover() {
	if a.recovered {
		return
	}
	a.recovered = true
	if !a.s.viewYoung() {
		return
	}
	for _, rec := range a.s.recoverName(a.name) {
		a.fold(rec, "")
	}
}

// encodeState is the exported state: u8 flags (1: a record follows, 2: the
// last conflict's loser follows, 4: graves follow) | [record] | [PID
// loser] | [uvarint count, then per grave: PID, u64 registration time].
// The loser moves with the authority so that it is told once, also when
// views change several times during a heal; the graves, so that an ended
// registration stays ended under the next authority.
func encodeState(rec record, loser node.PID, graves []grave) []byte {
	b := []byte{0}
	if rec.state != stateNone {
		b[0] |= 1
		b = appendRecord(b, rec)
	}
	if !loser.IsZero() {
		b[0] |= 2
		b = appendPID(b, loser)
	}
	if len(graves) > 0 {
		b[0] |= 4
		b = binary.AppendUvarint(b, uint64(len(graves)))
		for _, g := range graves {
			b = binary.BigEndian.AppendUint64(appendPID(b, g.pid), g.reg)
		}
	}
	return b
}

func decodeState(b []byte, name string) (record, node.PID, []grave, error) {
	r := reader{b: b}
	flags := r.u8()
	rec, loser := record{name: name}, node.PID{}
	var graves []grave
	if flags&^7 != 0 {
		r.fail("state flags")
	}
	if flags&1 != 0 {
		rec = r.record()
	}
	if flags&2 != 0 {
		loser = r.pid()
	}
	if flags&4 != 0 {
		n := r.count(pidMinSize + 8)
		if r.err == nil && (n == 0 || n > maxGraves) {
			r.fail("grave count")
		}
		for range n {
			if r.err != nil {
				break
			}
			graves = append(graves, grave{pid: r.pid(), reg: r.u64()})
		}
	}
	rec.name = name
	return rec, loser, graves, r.end()
}

// idleTimer sends its process a tick every period, so that an authority
// with nothing to guard can exit after a period without use.
type idleTimer struct {
	period  time.Duration
	lastUse time.Time
	t       *time.Timer
}

func (i *idleTimer) start(p *node.Proc, period time.Duration) {
	self, tick := p.Self(), request{op: opTick}.encode()
	i.period, i.lastUse = period, time.Now()
	i.t = time.AfterFunc(period, func() { _ = p.Send(self, tick) })
}

func (i *idleTimer) touch() { i.lastUse = time.Now() }

// due reports whether the process went unused for a period, and re-arms
// the timer (for what is left of the period, or a whole one).
func (i *idleTimer) due() bool {
	left := i.period - time.Since(i.lastUse)
	if left <= 0 {
		i.t.Reset(i.period)
		return true
	}
	i.t.Reset(left)
	return false
}

func (i *idleTimer) stop() {
	if i.t != nil {
		i.t.Stop()
	}
}
