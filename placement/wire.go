package placement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/placerhq/placer/node"
)

// Service names registered on every cluster node.
const (
	// routeService receives routed requests (casts for sends, calls for
	// calls, ensures and whereis), inline on the transport reader.
	routeService = "placer.route"
	// handoffService receives the handoff protocol's calls: accept, finish
	// and pull.
	handoffService = "placer.handoff"
)

// wireVersion is the first byte of every routed request and handoff
// message. A peer that sends another version gets ErrBadRequest.
const wireVersion = 1

// protocolVersion is gossiped in the membership tags; members with another
// version are never ring members here. 2: replication (terms in the
// handoff, the placer.repl service).
const protocolVersion = 2

// Route operations. ONLY APPEND TO THIS LIST: the values travel on the wire.
const (
	opSend    uint8 = 1 // a message for the key's process (cast)
	opCall    uint8 = 2 // a call to the key's process
	opEnsure  uint8 = 3 // start the process if needed; reply its PID
	opWhereis uint8 = 4 // reply the PID if the process exists
)

// Route request flags. ONLY APPEND.
const (
	flagFrom    uint8 = 1 // a sender PID follows the key
	flagHandoff uint8 = 2 // forwarded by the old owner at the end of a handoff: deliver even while importing
)

// Route reply status codes (first byte of a routed call's reply).
// ONLY APPEND TO THIS LIST.
const (
	stOK          uint8 = 0 // body: the process's reply, or a PID for ensure/whereis
	stNotOwner    uint8 = 1 // body: the owner the answering node believes in
	stNoQuorum    uint8 = 2
	stBusy        uint8 = 3
	stUnknownKind uint8 = 4
	stShutdown    uint8 = 5
	stNoProcess   uint8 = 6
	stStartFailed uint8 = 7 // body: error text
	stBadRequest  uint8 = 8 // body: error text
	stNoMembers   uint8 = 9
)

// routeReq is a routed request.
//
// Layout (big-endian): u8 version (1), u8 op, u8 flags, u8 hops, u64 sender
// epoch, u64 sender view checksum, uvarint len + kind, uvarint len + key
// (both valid UTF-8, else the request is refused),
// [PID sender if flagFrom], then the payload to the end.
// PID: u16 len + node name, u64 id, u32 creation.
type routeReq struct {
	op       uint8
	flags    uint8
	hops     uint8
	epoch    uint64
	checksum uint64
	kind     string
	key      string
	from     node.PID
	payload  []byte
}

func (r *routeReq) encode() []byte {
	b := make([]byte, 0, 24+len(r.kind)+len(r.key)+len(r.from.Node)+16+len(r.payload))
	flags := r.flags &^ flagFrom
	if !r.from.IsZero() {
		flags |= flagFrom
	}
	b = append(b, wireVersion, r.op, flags, r.hops)
	b = binary.BigEndian.AppendUint64(b, r.epoch)
	b = binary.BigEndian.AppendUint64(b, r.checksum)
	b = appendString(b, r.kind)
	b = appendString(b, r.key)
	if flags&flagFrom != 0 {
		b = appendPID(b, r.from)
	}
	return append(b, r.payload...)
}

func decodeRouteReq(b []byte) (routeReq, error) {
	var r routeReq
	if len(b) < 20 || b[0] != wireVersion {
		return r, fmt.Errorf("%w: route request header", ErrBadRequest)
	}
	r.op, r.flags, r.hops = b[1], b[2], b[3]
	if r.op < opSend || r.op > opWhereis {
		return r, fmt.Errorf("%w: route op %d", ErrBadRequest, r.op)
	}
	r.epoch = binary.BigEndian.Uint64(b[4:])
	r.checksum = binary.BigEndian.Uint64(b[12:])
	rest := b[20:]
	var err error
	if r.kind, rest, err = readString(rest); err != nil {
		return r, err
	}
	if r.key, rest, err = readString(rest); err != nil {
		return r, err
	}
	if !utf8.ValidString(r.kind) || !utf8.ValidString(r.key) {
		return r, fmt.Errorf("%w: %w: kind or key not valid UTF-8", ErrBadRequest, ErrBadKey)
	}
	if r.flags&flagFrom != 0 {
		if r.from, rest, err = readPID(rest); err != nil {
			return r, err
		}
	}
	r.payload = rest
	return r, nil
}

// encodeStatus builds a route or handoff reply: a status byte, then body.
func encodeStatus(st uint8, body []byte) []byte {
	out := make([]byte, 1, 1+len(body))
	out[0] = st
	return append(out, body...)
}

// routeError turns a non-OK route reply into an error.
func routeError(st uint8, body []byte) error {
	switch st {
	case stNotOwner:
		return &NotOwnerError{Owner: string(body)}
	case stNoQuorum:
		return ErrNoQuorum
	case stBusy:
		if len(body) > 0 {
			return fmt.Errorf("%w: %s", ErrBusy, body)
		}
		return ErrBusy
	case stUnknownKind:
		return ErrUnknownKind
	case stShutdown:
		return ErrShutdown
	case stNoProcess:
		return ErrNoProcess
	case stStartFailed:
		return fmt.Errorf("%w: %s", ErrStart, body)
	case stNoMembers:
		return ErrNoMembers
	}
	return fmt.Errorf("%w: status %d: %s", ErrBadRequest, st, body)
}

// statusOf maps one of this package's errors to its route status code.
func statusOf(err error) (uint8, []byte) {
	switch e := err.(type) {
	case *NotOwnerError:
		return stNotOwner, []byte(e.Owner)
	}
	for _, m := range statusErrors {
		if errors.Is(err, m.err) {
			if m.st == stBusy && err != ErrBusy {
				return stBusy, []byte(busyDetail(err))
			}
			return m.st, nil
		}
	}
	if errors.Is(err, ErrStart) {
		return stStartFailed, []byte(err.Error())
	}
	return stBadRequest, []byte(err.Error())
}

// busyDetail is the text of an ErrBusy error after "placement: key
// busy: " (and a handler error's prefix, when a key's process returned it):
// what the caller's ErrBusy adds after its own text.
func busyDetail(err error) string {
	t := strings.TrimPrefix(err.Error(), node.ErrHandler.Error()+": ")
	return strings.TrimPrefix(t, ErrBusy.Error()+": ")
}

var statusErrors = [...]struct {
	st  uint8
	err error
}{
	{stNoQuorum, ErrNoQuorum}, {stBusy, ErrBusy}, {stUnknownKind, ErrUnknownKind},
	{stShutdown, ErrShutdown}, {stNoProcess, ErrNoProcess}, {stNoMembers, ErrNoMembers},
}

// Handoff operations (service placer.handoff). ONLY APPEND.
const (
	hoAccept uint8 = 1 // old owner → new owner: start this process from state
	hoFinish uint8 = 2 // old owner → new owner: everything buffered was forwarded
	hoPull   uint8 = 3 // new owner → previous owner: do you host this key?
	hoView   uint8 = 4 // a leaving node → a member: your view's checksum? (kind and key empty)
)

// Handoff reply status codes. ONLY APPEND.
const (
	hsOK       uint8 = 0 // accept: body = the new PID; finish: empty
	hsNotYet   uint8 = 1 // views disagree: retry later
	hsConflict uint8 = 2 // accept: the receiver already runs the key; body = its PID
	hsNone     uint8 = 3 // pull: not hosted here, and our views agree
	hsPushing  uint8 = 4 // pull: hosted here; a push to the asker is under way
	hsFailed   uint8 = 5 // body: error text
)

// handoffVersion is the first byte of a handoff message (2: the term and
// sequence number of the copy follow the checksum).
const handoffVersion = 2

// handoffMsg is a handoff protocol message.
//
// Layout: u8 version (2), u8 op, u8 flags (1 = state exported), u64 the
// sender's view checksum, u64 the copy's term, u64 its sequence number
// (replicated kinds; 0 otherwise), uvarint len + kind, uvarint len + key,
// then the exported state to the end (accept only).
type handoffMsg struct {
	op       uint8
	exported bool
	checksum uint64
	term     uint64
	seq      uint64
	kind     string
	key      string
	state    []byte
}

func (m *handoffMsg) encode() []byte {
	b := make([]byte, 0, 32+len(m.kind)+len(m.key)+len(m.state))
	var flags uint8
	if m.exported {
		flags = 1
	}
	b = append(b, handoffVersion, m.op, flags)
	b = binary.BigEndian.AppendUint64(b, m.checksum)
	b = binary.BigEndian.AppendUint64(b, m.term)
	b = binary.BigEndian.AppendUint64(b, m.seq)
	b = appendString(b, m.kind)
	b = appendString(b, m.key)
	return append(b, m.state...)
}

func decodeHandoffMsg(b []byte) (handoffMsg, error) {
	var m handoffMsg
	if len(b) < 29 || b[0] != handoffVersion {
		return m, fmt.Errorf("%w: handoff header", ErrBadRequest)
	}
	m.op, m.exported = b[1], b[2]&1 != 0
	if m.op < hoAccept || m.op > hoView {
		return m, fmt.Errorf("%w: handoff op %d", ErrBadRequest, m.op)
	}
	m.checksum = binary.BigEndian.Uint64(b[3:])
	m.term = binary.BigEndian.Uint64(b[11:])
	m.seq = binary.BigEndian.Uint64(b[19:])
	rest := b[27:]
	var err error
	if m.kind, rest, err = readString(rest); err != nil {
		return m, err
	}
	if m.key, rest, err = readString(rest); err != nil {
		return m, err
	}
	m.state = rest
	return m, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > MaxKeyLen || uint64(len(b)-k) < n {
		return "", nil, fmt.Errorf("%w: bad string", ErrBadRequest)
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

func appendPID(b []byte, p node.PID) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Node)))
	b = append(b, p.Node...)
	b = binary.BigEndian.AppendUint64(b, p.ID)
	return binary.BigEndian.AppendUint32(b, p.Creation)
}

func readPID(b []byte) (node.PID, []byte, error) {
	if len(b) < 2 {
		return node.PID{}, nil, fmt.Errorf("%w: bad pid", ErrBadRequest)
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n+12 {
		return node.PID{}, nil, fmt.Errorf("%w: bad pid", ErrBadRequest)
	}
	p := node.PID{Node: string(b[2 : 2+n])}
	p.ID = binary.BigEndian.Uint64(b[2+n:])
	p.Creation = binary.BigEndian.Uint32(b[10+n:])
	return p, b[14+n:], nil
}

func encodePID(p node.PID) []byte { return appendPID(nil, p) }

func decodePID(b []byte) (node.PID, error) {
	p, rest, err := readPID(b)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%w: trailing bytes after pid", ErrBadRequest)
	}
	return p, err
}

// deadlineOrDefault returns d, or now+def if d is zero.
func deadlineOrDefault(d time.Time, def time.Duration) time.Time {
	if d.IsZero() {
		return time.Now().Add(def)
	}
	return d
}
