package pg

import (
	"encoding/binary"
	"fmt"

	"github.com/placerhq/placer/node"
)

// wireVersion is the first byte of every message between scopes. A message
// of another version is dropped (and counted in Stats.BadMessages).
const wireVersion = 1

// Message ops (second byte). ONLY APPEND TO THIS LIST: the values travel on
// the wire.
const (
	// opDiscover: "I run this scope; send me your members". Empty body.
	// The receiver answers with a sync and, if it did not know the sender,
	// a discover of its own (pg's discover).
	opDiscover uint8 = 1
	// opSync: the sender's whole local membership; it replaces everything
	// the receiver held for the sender. A sync too large for one message
	// continues in join messages that follow it.
	opSync uint8 = 2
	// opJoin: members joined (added to what the receiver holds).
	opJoin uint8 = 3
	// opLeave: members left (one occurrence removed per PID listed).
	opLeave uint8 = 4
	// opGoodbye: the sender's scope is closing; forget its members. Empty
	// body.
	opGoodbye uint8 = 5
)

// opMax is the highest op this version knows.
const opMax = opGoodbye

// entry is one group's members in a message, with repeats for processes
// that joined more than once.
type entry struct {
	group string
	pids  []node.PID
}

// message is a decoded message between scopes.
type message struct {
	op      uint8
	entries []entry
}

// Message layout (big-endian where fixed-width):
//
//	u8 version (1) | u8 op | body
//	body of discover, goodbye: empty
//	body of sync, join, leave: uvarint entry count, then each entry:
//	    uvarint name length (1..255) | name | uvarint member count (>= 1) |
//	    member count × uvarint process id
//
// Members are processes of the sending node: each id stands for the PID
// {sender node, id, sender creation}, node and creation taken from the
// frame's From (the sender scope's PID), so a node can only ever speak for
// its own processes. Join and leave carry at least one entry; a sync may
// carry none (the sender has no members).

// msgHeaderMax bounds the bytes of a message before its entries.
const msgHeaderMax = 2 + binary.MaxVarintLen32

// encode appends the wire form of m to b.
func (m message) encode(b []byte) []byte {
	b = append(b, wireVersion, m.op)
	if m.op == opDiscover || m.op == opGoodbye {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(m.entries)))
	for _, e := range m.entries {
		b = binary.AppendUvarint(b, uint64(len(e.group)))
		b = append(b, e.group...)
		b = binary.AppendUvarint(b, uint64(len(e.pids)))
		for _, p := range e.pids {
			b = binary.AppendUvarint(b, p.ID)
		}
	}
	return b
}

// decodeMessage decodes a message sent by the scope from. It checks every
// count against the bytes left before allocating.
func decodeMessage(b []byte, from node.PID) (message, error) {
	if len(b) < 2 || b[0] != wireVersion {
		return message{}, fmt.Errorf("%w: header", ErrBadMessage)
	}
	m := message{op: b[1]}
	b = b[2:]
	switch {
	case m.op == 0 || m.op > opMax:
		return m, fmt.Errorf("%w: op %d", ErrBadMessage, m.op)
	case m.op == opDiscover || m.op == opGoodbye:
		if len(b) != 0 {
			return m, fmt.Errorf("%w: body after op %d", ErrBadMessage, m.op)
		}
		return m, nil
	}
	var err error
	m.entries, err = decodeEntries(b, from)
	if err == nil && m.op != opSync && len(m.entries) == 0 {
		err = fmt.Errorf("%w: op %d without entries", ErrBadMessage, m.op)
	}
	return m, err
}

func decodeEntries(b []byte, from node.PID) ([]entry, error) {
	n, b, err := readCount(b, 2) // an entry takes at least 3 bytes
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, n)
	for range n {
		var e entry
		if e, b, err = decodeEntry(b, from); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadMessage, len(b))
	}
	return out, nil
}

func decodeEntry(b []byte, from node.PID) (entry, []byte, error) {
	l, b, err := readCount(b, 1)
	if err != nil {
		return entry{}, nil, err
	}
	e := entry{group: string(b[:l])}
	if err := checkGroup(e.group); err != nil {
		return entry{}, nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	n, b, err := readCount(b[l:], 1)
	if err != nil || n == 0 {
		return entry{}, nil, fmt.Errorf("%w: member count", ErrBadMessage)
	}
	e.pids = make([]node.PID, n)
	for i := range e.pids {
		id, k := binary.Uvarint(b)
		if k <= 0 {
			return entry{}, nil, fmt.Errorf("%w: member id", ErrBadMessage)
		}
		e.pids[i], b = node.PID{Node: from.Node, ID: id, Creation: from.Creation}, b[k:]
	}
	return e, b, nil
}

// readCount reads a uvarint count of items that take at least size bytes
// each, refusing one that the bytes left cannot hold.
func readCount(b []byte, size int) (int, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 || v > uint64(len(b)-k)/uint64(size) {
		return 0, nil, fmt.Errorf("%w: count", ErrBadMessage)
	}
	return int(v), b[k:], nil
}

// encodeChunks encodes m in messages of at most limit bytes. A sync that does
// not fit in one continues in join messages (additive after the sync's
// replace); a join or leave is split into several of the same op.
func encodeChunks(m message, limit int) [][]byte {
	if m.op == opDiscover || m.op == opGoodbye {
		return [][]byte{m.encode(nil)}
	}
	c := chunker{limit: limit, op: m.op, size: msgHeaderMax}
	for _, e := range m.entries {
		c.add(e)
	}
	if len(c.cur) > 0 || len(c.out) == 0 {
		c.flush()
	}
	return c.out
}

// chunker packs entries into messages of at most limit bytes.
type chunker struct {
	limit int
	op    uint8
	cur   []entry
	size  int // bytes of cur once encoded, at most
	out   [][]byte
}

func (c *chunker) add(e entry) {
	hdr := uvarintLen(uint64(len(e.group))) + len(e.group) + binary.MaxVarintLen32
	for rest := e.pids; len(rest) > 0; {
		if c.size+hdr+uvarintLen(rest[0].ID) > c.limit && len(c.cur) > 0 {
			c.flush()
		}
		n, sz := 0, 0
		for n < len(rest) && (n == 0 || c.size+hdr+sz+uvarintLen(rest[n].ID) <= c.limit) {
			sz += uvarintLen(rest[n].ID)
			n++
		}
		c.cur = append(c.cur, entry{group: e.group, pids: rest[:n]})
		c.size += hdr + sz
		rest = rest[n:]
	}
}

func (c *chunker) flush() {
	c.out = append(c.out, message{op: c.op, entries: c.cur}.encode(nil))
	c.cur, c.size = nil, msgHeaderMax
	if c.op == opSync {
		c.op = opJoin
	}
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}
