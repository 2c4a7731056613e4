package pg

import (
	"encoding/binary"
	"fmt"

	"github.com/placerhq/placer/node"
)

// Call ops: the first bytes of a call to a scope's service (from Remote).
// ONLY APPEND TO THIS LIST: the values travel on the wire.
const (
	callGroups  uint8 = 1 // body empty; reply: the groups with their sizes
	callMembers uint8 = 2 // body: name; reply: the members
	callJoin    uint8 = 3 // body: name, PIDs (local to the callee); reply empty
	callLeave   uint8 = 4 // body: name, PIDs; reply empty
)

const callMax = callLeave

// Call layout (big-endian where fixed-width):
//
//	request: u8 version (1) | u8 call op | body
//	    groups:        empty
//	    members:       uvarint len + group name
//	    join, leave:   uvarint len + group name | uvarint count | count × PID
//	reply of groups:   uvarint count | count × (uvarint len + name |
//	                   uvarint members | uvarint local members)
//	reply of members:  uvarint count | count × PID
//	reply of join, leave: empty
//	PID:               u16 len + node name | u64 id | u32 creation
//
// Errors travel as the node's call errors.

// pidSize is the least bytes of an encoded PID.
const pidSize = 2 + 8 + 4

// callReq is a decoded call to a scope.
type callReq struct {
	op    uint8
	group string
	pids  []node.PID
}

func (r callReq) encode() []byte {
	b := []byte{wireVersion, r.op}
	if r.op == callGroups {
		return b
	}
	b = appendString(b, r.group)
	if r.op == callMembers {
		return b
	}
	return appendPIDs(b, r.pids)
}

func decodeCallReq(b []byte) (callReq, error) {
	if len(b) < 2 || b[0] != wireVersion || b[1] == 0 || b[1] > callMax {
		return callReq{}, fmt.Errorf("%w: call header", ErrBadMessage)
	}
	r := callReq{op: b[1]}
	b = b[2:]
	var err error
	if r.op != callGroups {
		if r.group, b, err = readString(b); err != nil {
			return r, err
		}
		if err := checkGroup(r.group); err != nil {
			return r, fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
	}
	if r.op == callJoin || r.op == callLeave {
		if r.pids, b, err = readPIDs(b); err != nil {
			return r, err
		}
	}
	return r, noTrailing(b)
}

func encodeGroups(gs []GroupInfo) []byte {
	b := binary.AppendUvarint(nil, uint64(len(gs)))
	for _, g := range gs {
		b = appendString(b, g.Name)
		b = binary.AppendUvarint(b, uint64(g.Members))
		b = binary.AppendUvarint(b, uint64(g.Local))
	}
	return b
}

func decodeGroups(b []byte) ([]GroupInfo, error) {
	n, b, err := readCount(b, 3)
	if err != nil {
		return nil, err
	}
	out := make([]GroupInfo, 0, n)
	for range n {
		var g GroupInfo
		if g.Name, b, err = readString(b); err != nil {
			return nil, err
		}
		var m, l uint64
		if m, b, err = readUvarint(b); err == nil {
			l, b, err = readUvarint(b)
		}
		if err != nil || m > 1<<40 || l > m {
			return nil, fmt.Errorf("%w: group sizes", ErrBadMessage)
		}
		g.Members, g.Local = int(m), int(l)
		out = append(out, g)
	}
	return out, noTrailing(b)
}

func decodeMembers(b []byte) ([]node.PID, error) {
	pids, b, err := readPIDs(b)
	if err != nil {
		return nil, err
	}
	return pids, noTrailing(b)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, error) {
	n, b, err := readCount(b, 1)
	if err != nil {
		return "", nil, err
	}
	return string(b[:n]), b[n:], nil
}

func readUvarint(b []byte) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, nil, fmt.Errorf("%w: varint", ErrBadMessage)
	}
	return v, b[k:], nil
}

func appendPIDs(b []byte, pids []node.PID) []byte {
	b = binary.AppendUvarint(b, uint64(len(pids)))
	for _, p := range pids {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Node)))
		b = append(b, p.Node...)
		b = binary.BigEndian.AppendUint64(b, p.ID)
		b = binary.BigEndian.AppendUint32(b, p.Creation)
	}
	return b
}

func readPIDs(b []byte) ([]node.PID, []byte, error) {
	n, b, err := readCount(b, pidSize)
	if err != nil {
		return nil, nil, err
	}
	out := make([]node.PID, n)
	for i := range out {
		if len(b) < 2 {
			return nil, nil, fmt.Errorf("%w: short pid", ErrBadMessage)
		}
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < pidSize+l {
			return nil, nil, fmt.Errorf("%w: short pid", ErrBadMessage)
		}
		out[i] = node.PID{Node: string(b[2 : 2+l]), ID: binary.BigEndian.Uint64(b[2+l:]),
			Creation: binary.BigEndian.Uint32(b[10+l:])}
		b = b[pidSize+l:]
	}
	return out, b, nil
}

func noTrailing(b []byte) error {
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadMessage, len(b))
	}
	return nil
}
