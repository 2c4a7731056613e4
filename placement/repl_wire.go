package placement

import (
	"encoding/binary"
	"fmt"
)

// replService receives replication: a primary's state updates for the
// keys this node backs up, and a new primary's fetch of a backup copy.
const replService = "placer.repl"

// Replication operations (service placer.repl). ONLY APPEND.
const (
	rpUpdate uint8 = 1 // primary → backup: store this copy (term, seq, state)
	rpFetch  uint8 = 2 // new primary → backup: your copy of this key, if any
	rpDrop   uint8 = 3 // primary → backup: the key's process ended; forget copies up to this term
)

// Replication reply status codes. ONLY APPEND.
const (
	rsOK     uint8 = 0 // update: stored (or already newer from the same term); fetch: body = a copy
	rsStale  uint8 = 1 // update: a newer term of the key exists; body = u64 term, then the holder's name
	rsNotYet uint8 = 2 // update: the sender is not the key's owner in this node's view (yet): retry
	rsNone   uint8 = 3 // fetch: no copy here
)

// replMsg is a replication request.
//
// Layout (big-endian): u8 version (1), u8 op, u8 flags (1 = state
// exported), u64 term, u64 seq, uvarint len + kind, uvarint len + key, then
// the exported state to the end (update only).
type replMsg struct {
	op       uint8
	exported bool
	term     uint64
	seq      uint64
	kind     string
	key      string
	state    []byte
}

func (m *replMsg) encode() []byte {
	b := make([]byte, 0, 19+len(m.kind)+len(m.key)+2+len(m.state))
	var flags uint8
	if m.exported {
		flags = 1
	}
	b = append(b, wireVersion, m.op, flags)
	b = binary.BigEndian.AppendUint64(b, m.term)
	b = binary.BigEndian.AppendUint64(b, m.seq)
	b = appendString(b, m.kind)
	b = appendString(b, m.key)
	return append(b, m.state...)
}

func decodeReplMsg(b []byte) (replMsg, error) {
	var m replMsg
	if len(b) < 19 || b[0] != wireVersion {
		return m, fmt.Errorf("%w: replication header", ErrBadRequest)
	}
	m.op, m.exported = b[1], b[2]&1 != 0
	if m.op < rpUpdate || m.op > rpDrop {
		return m, fmt.Errorf("%w: replication op %d", ErrBadRequest, m.op)
	}
	m.term = binary.BigEndian.Uint64(b[3:])
	m.seq = binary.BigEndian.Uint64(b[11:])
	rest := b[19:]
	var err error
	if m.kind, rest, err = readString(rest); err != nil {
		return m, err
	}
	if m.key, rest, err = readString(rest); err != nil {
		return m, err
	}
	if err := checkKey("kind", m.kind); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err := checkKey("key", m.key); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	m.state = rest
	return m, nil
}

// encodeStale is an rsStale reply: the newer term and who holds it.
func encodeStale(term uint64, holder string) []byte {
	b := binary.BigEndian.AppendUint64([]byte{rsStale}, term)
	return append(b, holder...)
}

// decodeStale reads an rsStale reply's body.
func decodeStale(body []byte) (uint64, string, error) {
	if len(body) < 8 {
		return 0, "", fmt.Errorf("%w: stale reply", ErrBadRequest)
	}
	return binary.BigEndian.Uint64(body), string(body[8:]), nil
}

// encodeCopy is a fetch's rsOK reply: u64 term, u64 seq, u8 exported,
// then the state.
func encodeCopy(r *replica) []byte {
	b := binary.BigEndian.AppendUint64([]byte{rsOK}, r.term)
	b = binary.BigEndian.AppendUint64(b, r.seq)
	var ex byte
	if r.exported {
		ex = 1
	}
	return append(append(b, ex), r.state...)
}

// decodeCopy reads a fetch's rsOK body.
func decodeCopy(body []byte) (replica, error) {
	if len(body) < 17 {
		return replica{}, fmt.Errorf("%w: fetched copy", ErrBadRequest)
	}
	return replica{
		term: binary.BigEndian.Uint64(body), seq: binary.BigEndian.Uint64(body[8:]),
		exported: body[16] == 1, state: append([]byte(nil), body[17:]...),
	}, nil
}
