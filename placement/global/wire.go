package global

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
)

// wireVersion is the first byte of every message and request.
const wireVersion = 1

// Messages between services (casts to ServiceName, From = the sending
// service's PID). ONLY APPEND TO THIS LIST: the values travel on the wire.
const (
	// msgUpdate: records the sender's authorities changed.
	msgUpdate uint8 = 1
	// msgSync: the records of the names the sender owns, sent when a node
	// connects and in answer to a discover; split into several messages
	// when large.
	msgSync uint8 = 2
	// msgDiscover: "my service (re)started: send me your sync" (pg's
	// discover); no records.
	msgDiscover uint8 = 3
	// msgDigest: anti-entropy, every SyncInterval: the sender's view
	// checksum and a digest of its records of the names the receiver owns
	// (instead of records); a receiver with the same view whose own digest
	// differs answers with a sync.
	msgDigest uint8 = 4
	// msgConflict: an authority resolved a name held on both sides of a
	// partition; records: the loser's registration, then the winner's.
	// Sent to the loser's node, which tells the loser once (both sides'
	// authorities may resolve the same conflict).
	msgConflict uint8 = 5
)

// Calls to a service. ONLY APPEND TO THIS LIST.
const (
	callRecoverName uint8 = 1 // body: name; reply: the node's record of it
	callRecoverLock uint8 = 2 // body: lock id; reply: the lock its processes hold
	callAlive       uint8 = 3 // body: PID (local to the callee); reply: u8 alive
)

// Requests to an authority process: routed calls, and routed casts (claim,
// tick). ONLY APPEND TO THIS LIST.
const (
	opRegister   uint8 = 1  // PID
	opUnregister uint8 = 2  // PID (zero: whoever holds it)
	opResolve    uint8 = 3  // empty: the authority's record
	opClaim      uint8 = 4  // cast: string claimant | record
	opAcquire    uint8 = 5  // PID requester | u64 request id | i64 wait ns (<0 forever)
	opRelease    uint8 = 6  // PID requester
	opCancel     uint8 = 7  // PID requester | u64 request id
	opStatus     uint8 = 8  // empty
	opLockClaim  uint8 = 9  // call: string claimant | PID holder | u64 token | uvarint count
	opTick       uint8 = 10 // cast from the process itself: idle and waiter timers
)

const opMax = opTick

// Reply statuses of an authority. ONLY APPEND TO THIS LIST.
const (
	stOK            uint8 = 0 // name ops: record; acquire: grant; status: lock info
	stTaken         uint8 = 1 // register: record of the holder
	stMoved         uint8 = 2 // not the owner in its view: re-route and retry
	stNotRegistered uint8 = 3
	stBusy          uint8 = 4
	stTimeout       uint8 = 5
	stNotHeld       uint8 = 6
	stNoQuorum      uint8 = 7
	stBad           uint8 = 8 // string text
)

const stMax = stBad

// svcMsg is a message between services.
type svcMsg struct {
	op       uint8
	hlc      uint64
	recs     []record
	checksum uint64 // digest: the sender's view checksum
	digest   uint64 // digest: of its records of the receiver's names
}

// encodeSvcMsgs encodes m in as many messages as it takes to keep each
// under max bytes (always at least one).
//
//	u8 version | u8 op | u64 hlc | uvarint count | count × record
//	(digest: u8 version | u8 op | u64 hlc | u64 checksum | u64 digest)
func encodeSvcMsgs(m svcMsg, max int) [][]byte {
	if m.op == msgDigest {
		b := binary.BigEndian.AppendUint64([]byte{wireVersion, m.op}, m.hlc)
		b = binary.BigEndian.AppendUint64(b, m.checksum)
		return [][]byte{binary.BigEndian.AppendUint64(b, m.digest)}
	}
	var out [][]byte
	recs := m.recs
	for first := true; first || len(recs) > 0; first = false {
		n, size := 0, 20
		for n < len(recs) && (n == 0 || size+recordSize(recs[n]) <= max) {
			size += recordSize(recs[n])
			n++
		}
		b := binary.BigEndian.AppendUint64([]byte{wireVersion, m.op}, m.hlc)
		b = binary.AppendUvarint(b, uint64(n))
		for _, r := range recs[:n] {
			b = appendRecord(b, r)
		}
		out, recs = append(out, b), recs[n:]
	}
	return out
}

func recordSize(r record) int { return recordMinSize + len(r.name) + len(r.pid.Node) + 2 }

func decodeSvcMsg(b []byte) (svcMsg, error) {
	r := reader{b: b}
	if r.u8() != wireVersion {
		r.fail("version")
	}
	m := svcMsg{op: r.u8(), hlc: r.u64()}
	switch {
	case r.err != nil:
	case m.op == msgDigest:
		m.checksum, m.digest = r.u64(), r.u64()
		return m, r.end()
	case m.op == 0 || m.op > msgConflict:
		r.fail(fmt.Sprintf("op %d", m.op))
	}
	m.recs = r.records()
	if m.op == msgConflict && r.err == nil && len(m.recs) != 2 {
		r.fail(fmt.Sprintf("conflict with %d records", len(m.recs)))
	}
	return m, r.end()
}

// svcCall is a call to a service.
//
//	u8 version | u8 op | u64 hlc | string id (recover ops) or PID (alive)
type svcCall struct {
	op  uint8
	hlc uint64
	id  string
	pid node.PID
}

func (c svcCall) encode() []byte {
	b := binary.BigEndian.AppendUint64([]byte{wireVersion, c.op}, c.hlc)
	if c.op == callAlive {
		return appendPID(b, c.pid)
	}
	return appendStr(b, c.id)
}

func decodeSvcCall(b []byte) (svcCall, error) {
	r := reader{b: b}
	if r.u8() != wireVersion {
		r.fail("version")
	}
	c := svcCall{op: r.u8(), hlc: r.u64()}
	switch {
	case r.err != nil:
	case c.op == callAlive:
		c.pid = r.pid()
	case c.op == callRecoverName || c.op == callRecoverLock:
		c.id = r.name()
	default:
		r.fail(fmt.Sprintf("call op %d", c.op))
	}
	return c, r.end()
}

// request is a request to an authority process; which fields an op uses
// is in the op list.
type request struct {
	op       uint8
	hlc      uint64
	pid      node.PID // register, unregister; requester; lockClaim holder
	claimant string   // claim, lockClaim
	rec      record   // claim
	reqID    uint64   // acquire, cancel
	wait     time.Duration
	token    uint64 // lockClaim
	count    uint64 // lockClaim
}

// u8 version | u8 op | u64 hlc | body (see the op list)
func (q request) encode() []byte {
	b := binary.BigEndian.AppendUint64([]byte{wireVersion, q.op}, q.hlc)
	switch q.op {
	case opRegister, opUnregister, opRelease:
		b = appendPID(b, q.pid)
	case opClaim:
		b = appendRecord(appendStr(b, q.claimant), q.rec)
	case opAcquire:
		b = binary.BigEndian.AppendUint64(appendPID(b, q.pid), q.reqID)
		b = binary.BigEndian.AppendUint64(b, uint64(q.wait))
	case opCancel:
		b = binary.BigEndian.AppendUint64(appendPID(b, q.pid), q.reqID)
	case opLockClaim:
		b = binary.BigEndian.AppendUint64(appendPID(appendStr(b, q.claimant), q.pid), q.token)
		b = binary.AppendUvarint(b, q.count)
	}
	return b
}

func decodeRequest(b []byte) (request, error) {
	r := reader{b: b}
	if r.u8() != wireVersion {
		r.fail("version")
	}
	q := request{op: r.u8(), hlc: r.u64()}
	if r.err == nil && (q.op == 0 || q.op > opMax) {
		r.fail(fmt.Sprintf("op %d", q.op))
	}
	q.decodeBody(&r)
	return q, r.end()
}

func (q *request) decodeBody(r *reader) {
	switch q.op {
	case opRegister, opUnregister, opRelease:
		q.pid = r.pid()
	case opClaim:
		q.claimant, q.rec = r.str(), r.record()
	case opAcquire:
		q.pid, q.reqID, q.wait = r.pid(), r.u64(), time.Duration(r.u64())
	case opCancel:
		q.pid, q.reqID = r.pid(), r.u64()
	case opLockClaim:
		q.claimant, q.pid, q.token, q.count = r.str(), r.pid(), r.u64(), r.uvarint()
	}
}

// reply is an authority's answer.
//
//	u8 status | u64 hlc | body:
//	  name ops (ok, taken):  record
//	  acquire (ok):          lock (holder, token, count)
//	  status (ok):           lock | u64 last token | uvarint waiters |
//	                         waiters × (PID | i64 waiting since, Unix ns)
//	  bad:                   string text
//	  others:                empty
//	lock = PID holder | u64 token | uvarint count
type reply struct {
	status uint8
	hlc    uint64
	rec    record
	lock   LockInfo
	text   string
}

// replyKind says which body a reply of status ok carries.
type replyKind uint8

const (
	replyRecord replyKind = iota + 1
	replyGrant
	replyLockInfo
	replyEmpty
)

func (p reply) encode(k replyKind) []byte {
	b := binary.BigEndian.AppendUint64([]byte{p.status}, p.hlc)
	switch {
	case p.status == stBad:
		return appendStr(b, p.text)
	case p.status == stTaken || (p.status == stOK && k == replyRecord):
		return appendRecord(b, p.rec)
	case p.status == stOK && (k == replyGrant || k == replyLockInfo):
		return appendLock(b, p.lock, k == replyLockInfo)
	}
	return b
}

func appendLock(b []byte, l LockInfo, full bool) []byte {
	b = binary.BigEndian.AppendUint64(appendPID(b, l.Holder), l.Token)
	b = binary.AppendUvarint(b, uint64(l.Count))
	if !full {
		return b
	}
	b = binary.BigEndian.AppendUint64(b, l.LastToken)
	b = binary.AppendUvarint(b, uint64(len(l.Waiters)))
	for _, w := range l.Waiters {
		b = binary.BigEndian.AppendUint64(appendPID(b, w.Requester), uint64(w.Since.UnixNano()))
	}
	return b
}

func decodeReply(b []byte, k replyKind) (reply, error) {
	r := reader{b: b}
	p := reply{status: r.u8(), hlc: r.u64()}
	switch {
	case r.err != nil:
	case p.status > stMax:
		r.fail(fmt.Sprintf("status %d", p.status))
	case p.status == stBad:
		p.text = r.str()
	case p.status == stTaken || (p.status == stOK && k == replyRecord):
		p.rec = r.record()
	case p.status == stOK && (k == replyGrant || k == replyLockInfo):
		p.lock = r.lock(k == replyLockInfo)
	}
	return p, r.end()
}

func (r *reader) lock(full bool) LockInfo {
	l := LockInfo{Holder: r.pid(), Token: r.u64(), Count: int(r.uvarint())}
	if !full {
		return l
	}
	l.LastToken = r.u64()
	n := r.count(pidMinSize + 8)
	if r.err != nil {
		return l
	}
	l.Waiters = make([]Waiter, 0, n)
	for range n {
		l.Waiters = append(l.Waiters, Waiter{Requester: r.pid(), Since: time.Unix(0, int64(r.u64()))})
	}
	return l
}

// Replies to service calls: u64 hlc | body, where body is
//
//	recoverName: u8 has | record (if has)
//	recoverLock: u8 has | lock (if has)
//	alive:       u8 alive
func encodeRecoverName(hlc uint64, rec record, has bool) []byte {
	b := binary.BigEndian.AppendUint64(nil, hlc)
	if !has {
		return append(b, 0)
	}
	return appendRecord(append(b, 1), rec)
}

func decodeRecoverName(b []byte) (uint64, record, bool, error) {
	r := reader{b: b}
	hlc, has := r.u64(), r.u8()
	var rec record
	if has == 1 {
		rec = r.record()
	} else if has != 0 {
		r.fail("has")
	}
	return hlc, rec, has == 1, r.end()
}

func encodeRecoverLock(hlc uint64, l LockInfo, has bool) []byte {
	b := binary.BigEndian.AppendUint64(nil, hlc)
	if !has {
		return append(b, 0)
	}
	return appendLock(append(b, 1), l, false)
}

func decodeRecoverLock(b []byte) (uint64, LockInfo, bool, error) {
	r := reader{b: b}
	hlc, has := r.u64(), r.u8()
	var l LockInfo
	if has == 1 {
		l = r.lock(false)
	} else if has != 0 {
		r.fail("has")
	}
	return hlc, l, has == 1, r.end()
}
