package node

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/placerhq/placer/transport"
)

// PID identifies a process: the node it lives on, a number unique on that
// node, and the node's creation (incarnation). A restarted node has a new
// creation, so a PID from its earlier life never reaches a process of the
// new one. The zero PID means "none".
//
// Text form (String, ParsePID): <node.id.creation>, e.g.
// <node1@127.0.0.1.42.1>. JSON form: {"node":"node1@127.0.0.1","id":42,
// "creation":1} (decoding also accepts the field names capitalized, the
// form before they were tagged).
type PID struct {
	Node     string `json:"node"` // "name@host"
	ID       uint64 `json:"id"`   // unique per node incarnation; 0 is the node itself (callers outside processes)
	Creation uint32 `json:"creation"`
}

// IsZero reports whether p is the zero PID.
func (p PID) IsZero() bool { return p == PID{} }

// String formats p as <node.id.creation>.
func (p PID) String() string { return fmt.Sprintf("<%s.%d.%d>", p.Node, p.ID, p.Creation) }

func (PID) dest() {}

// ParsePID reads the text form of String: <node.id.creation> (the angle
// brackets may be left out). The node part may contain dots (an IP host):
// id and creation are the last two dot-separated numbers.
func ParsePID(s string) (PID, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
	c := strings.LastIndexByte(t, '.')
	if c < 0 {
		return PID{}, fmt.Errorf("%w: pid %q: want <node.id.creation>", ErrBadArg, s)
	}
	i := strings.LastIndexByte(t[:c], '.')
	if i <= 0 {
		return PID{}, fmt.Errorf("%w: pid %q: want <node.id.creation>", ErrBadArg, s)
	}
	id, err1 := strconv.ParseUint(t[i+1:c], 10, 64)
	cr, err2 := strconv.ParseUint(t[c+1:], 10, 32)
	if err1 != nil || err2 != nil || !strings.Contains(t[:i], "@") {
		return PID{}, fmt.Errorf("%w: pid %q: want <node.id.creation>, e.g. <node1@127.0.0.1.42.1>", ErrBadArg, s)
	}
	return PID{Node: t[:i], ID: id, Creation: uint32(cr)}, nil
}

// Named addresses the process (or service) registered as Name on Node, like
// Erlang's {Name, Node}. An empty Node means the local node.
type Named struct {
	Name string
	Node string
}

// String formats n as {name, node}.
func (n Named) String() string { return "{" + n.Name + ", " + n.Node + "}" }

func (Named) dest() {}

// Dest is where a message or call goes: a PID or a Named. The set is closed.
type Dest interface {
	dest()
	String() string
}

func wirePID(p PID) transport.PID  { return transport.PID(p) }
func fromWire(p transport.PID) PID { return PID(p) }

// appendPID appends the binary form of p: u16 name length, name, u64 id,
// u32 creation, all big-endian.
func appendPID(b []byte, p PID) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Node)))
	b = append(b, p.Node...)
	b = binary.BigEndian.AppendUint64(b, p.ID)
	return binary.BigEndian.AppendUint32(b, p.Creation)
}

// readPID decodes a PID written by appendPID and returns the rest.
func readPID(b []byte) (PID, []byte, error) {
	if len(b) < 2 {
		return PID{}, nil, fmt.Errorf("%w: short pid", ErrBadArg)
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < n+12 {
		return PID{}, nil, fmt.Errorf("%w: short pid", ErrBadArg)
	}
	p := PID{Node: string(b[:n])}
	p.ID = binary.BigEndian.Uint64(b[n:])
	p.Creation = binary.BigEndian.Uint32(b[n+8:])
	return p, b[n+12:], nil
}

// decodePID decodes exactly one PID.
func decodePID(b []byte) (PID, error) {
	p, rest, err := readPID(b)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%w: trailing bytes after pid", ErrBadArg)
	}
	return p, err
}
