package global

import (
	"encoding/binary"
	"fmt"

	"github.com/placerhq/placer/node"
)

// The byte layout shared by every message (docs/global.md, "Wire"):
// fixed-width integers are big-endian; uvarints are encoding/binary's;
//
//	string = uvarint length | bytes
//	PID    = u16 node-name length | node name | u64 id | u32 creation
//	record = string name (1..MaxNameLen, UTF-8) | u8 state (1 live, 2 tomb,
//	         3 gone) | PID | u64 registered | u64 ended | u64 version

// pidMinSize and recordMinSize are the least bytes of a PID and a record:
// a count is checked against them before anything is allocated.
const (
	pidMinSize    = 2 + 8 + 4
	recordMinSize = 2 + 1 + pidMinSize + 3*8
)

// maxWireString bounds a string on the wire (names, node names, texts).
const maxWireString = 1 << 12

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPID(b []byte, p node.PID) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Node)))
	b = append(b, p.Node...)
	b = binary.BigEndian.AppendUint64(b, p.ID)
	return binary.BigEndian.AppendUint32(b, p.Creation)
}

func appendRecord(b []byte, r record) []byte {
	b = appendStr(b, r.name)
	b = append(b, byte(r.state))
	b = appendPID(b, r.pid)
	b = binary.BigEndian.AppendUint64(b, r.reg)
	b = binary.BigEndian.AppendUint64(b, r.at)
	return binary.BigEndian.AppendUint64(b, r.version)
}

// reader decodes a message. The first error sticks: later reads return
// zero values, and err says what failed first.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadMessage, what)
	}
	r.b = nil
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail(what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	if b := r.take(1, "short"); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4, "short"); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8, "short"); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[k:]
	return v
}

// count reads a count of items of at least minSize bytes each and checks
// that the bytes left can hold them (before the caller allocates).
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minSize) {
		r.fail("count beyond the message")
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > maxWireString {
		r.fail("string too long")
		return ""
	}
	return string(r.take(int(n), "short string"))
}

func (r *reader) pid() node.PID {
	l := r.take(2, "short pid")
	if l == nil {
		return node.PID{}
	}
	name := string(r.take(int(binary.BigEndian.Uint16(l)), "short pid"))
	return node.PID{Node: name, ID: r.u64(), Creation: r.u32()}
}

func (r *reader) name() string {
	s := r.str()
	if r.err == nil && checkName(s) != nil {
		r.fail("name")
	}
	return s
}

func (r *reader) record() record {
	rec := record{name: r.name(), state: recState(r.u8())}
	if r.err == nil && (rec.state == stateNone || rec.state > stateMax) {
		r.fail("record state")
	}
	rec.pid = r.pid()
	rec.reg, rec.at, rec.version = r.u64(), r.u64(), r.u64()
	return rec
}

func (r *reader) records() []record {
	n := r.count(recordMinSize)
	if r.err != nil {
		return nil
	}
	out := make([]record, 0, n)
	for range n {
		out = append(out, r.record())
	}
	return out
}

// end returns the first error, or one for bytes left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return r.err
}
