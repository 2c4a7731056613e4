package transport

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"
)

// Wire constants. The byte layout of every frame is in docs/protocol.md.
const (
	// MinVersion is the lowest protocol version this package speaks.
	MinVersion uint8 = 1
	// MaxVersion is the highest protocol version this package speaks.
	MaxVersion uint8 = 1

	headerSize     = 5    // type (1) + body length (4)
	preAuthMaxBody = 4096 // largest handshake frame body
	pidFixedSize   = 13   // form (1) + id (8) + creation (4)
	maxNameLen     = 255  // node names travel as str8
	maxStr16       = 0xFFFF
)

// Bits of a data body's fields byte, in encoding order.
const (
	fieldFrom uint8 = 1 << iota
	fieldTo
	fieldToName
	fieldRef
	fieldTTL
	fieldStatus
	fieldReason
	fieldPayload
)

// PID node forms.
const (
	pidSender   = 1 // the node that sent the frame
	pidReceiver = 2 // the node receiving the frame
	pidExplicit = 3 // str8 name follows
)

var frameTypeNames = [...]string{
	"Invalid", "Heartbeat", "Send", "RegSend", "Call", "Reply", "Monitor",
	"Demonitor", "Down", "Link", "Unlink", "Exit", "SpawnRequest",
	"SpawnReply", "Fragment", "BulkAck",
}

// String returns the frame type's name, e.g. "Send".
func (t FrameType) String() string {
	if int(t) < len(frameTypeNames) {
		return frameTypeNames[t]
	}
	if n, ok := hsTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("FrameType(%d)", uint8(t))
}

// isDataType reports whether t carries a data body (a Message) in version 1.
func isDataType(t FrameType) bool { return t >= FrameSend && t <= FrameSpawnReply }

// codec encodes and decodes data bodies for one connection. local and peer
// are the two node names, which PIDs refer to by form instead of by name.
// A codec is not safe for concurrent use except through encode methods,
// which only read it.
type codec struct {
	local, peer string
	intern      map[string]string // decoded names and ToNames, bounded by internMax
}

const internMax = 4096

// BodySize returns the size of m's frame body (docs/protocol.md §2) on a
// connection from node local to node peer: what Send checks against the
// peer's MaxFrameSize. It fails with ErrProtocol for a type Send does not
// take. Other transports (transport/memnet) use it to enforce the same
// limit.
func BodySize(local, peer string, m *Message) (int, error) {
	cd := codec{local: local, peer: peer}
	n, _, err := cd.bodySize(m)
	return n, err
}

// bodySize computes the encoded body size of m and its fields byte.
func (cd *codec) bodySize(m *Message) (int, uint8, error) {
	if !isDataType(m.Type) {
		return 0, 0, fmt.Errorf("%w: cannot send frame type %v", ErrProtocol, m.Type)
	}
	n, f := 1, uint8(0)
	if !m.From.IsZero() {
		s, err := cd.pidSize(m.From)
		if err != nil {
			return 0, 0, err
		}
		n, f = n+s, f|fieldFrom
	}
	if !m.To.IsZero() {
		s, err := cd.pidSize(m.To)
		if err != nil {
			return 0, 0, err
		}
		n, f = n+s, f|fieldTo
	}
	if m.ToName != "" {
		if len(m.ToName) > maxStr16 {
			return 0, 0, fmt.Errorf("%w: ToName is %d bytes (max %d)", ErrFrameTooLarge, len(m.ToName), maxStr16)
		}
		n, f = n+2+len(m.ToName), f|fieldToName
	}
	n, f = sizeFixed(n, f, m)
	if m.Reason != "" {
		n, f = n+2+len(truncReason(m.Reason)), f|fieldReason
	}
	if len(m.Payload) > 0 {
		n, f = n+len(m.Payload), f|fieldPayload
	}
	return n, f, nil
}

// sizeFixed adds the fixed-width fields of m to a running size and fields byte.
func sizeFixed(n int, f uint8, m *Message) (int, uint8) {
	if m.Ref != 0 {
		n, f = n+8, f|fieldRef
	}
	if m.TTL != 0 {
		n, f = n+8, f|fieldTTL
	}
	if m.Status != 0 {
		n, f = n+1, f|fieldStatus
	}
	return n, f
}

func (cd *codec) pidSize(p PID) (int, error) {
	if p.Node == cd.local || p.Node == cd.peer {
		return pidFixedSize, nil
	}
	if len(p.Node) > maxNameLen {
		return 0, fmt.Errorf("%w: PID node name is %d bytes (max %d)", ErrBadName, len(p.Node), maxNameLen)
	}
	return pidFixedSize + 1 + len(p.Node), nil
}

// truncReason cuts s to at most 65535 bytes at a UTF-8 boundary.
func truncReason(s string) string {
	if len(s) <= maxStr16 {
		return s
	}
	cut := maxStr16
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// appendFrame appends the complete frame (header and body) for m to dst.
// bodyLen and fields must come from bodySize(m).
func (cd *codec) appendFrame(dst []byte, m *Message, bodyLen int, f uint8) []byte {
	dst = append(dst, byte(m.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(bodyLen))
	dst = append(dst, f)
	if f&fieldFrom != 0 {
		dst = cd.appendPID(dst, m.From)
	}
	if f&fieldTo != 0 {
		dst = cd.appendPID(dst, m.To)
	}
	if f&fieldToName != 0 {
		dst = appendStr16(dst, m.ToName)
	}
	if f&fieldRef != 0 {
		dst = binary.BigEndian.AppendUint64(dst, m.Ref)
	}
	if f&fieldTTL != 0 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(m.TTL))
	}
	if f&fieldStatus != 0 {
		dst = append(dst, m.Status)
	}
	if f&fieldReason != 0 {
		dst = appendStr16(dst, truncReason(m.Reason))
	}
	return append(dst, m.Payload...)
}

func appendStr16(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func (cd *codec) appendPID(dst []byte, p PID) []byte {
	switch p.Node {
	case cd.local:
		dst = append(dst, pidSender)
	case cd.peer:
		dst = append(dst, pidReceiver)
	default:
		dst = append(dst, pidExplicit, byte(len(p.Node)))
		dst = append(dst, p.Node...)
	}
	dst = binary.BigEndian.AppendUint64(dst, p.ID)
	return binary.BigEndian.AppendUint32(dst, p.Creation)
}

// decodeBody parses a data body of type t into m. When owned is true, body
// belongs to the caller's message and the payload may alias it; otherwise
// the payload is copied, into spare if it fits (spare belongs to m).
func (cd *codec) decodeBody(t FrameType, body []byte, owned bool, spare []byte, m *Message) error {
	if len(body) < 1 {
		return fmt.Errorf("%w: %v body is empty", ErrProtocol, t)
	}
	m.Type = t
	f := body[0]
	b := bodyReader{buf: body, off: 1}
	if f&fieldFrom != 0 {
		m.From = cd.readPID(&b)
	}
	if f&fieldTo != 0 {
		m.To = cd.readPID(&b)
	}
	if f&fieldToName != 0 {
		m.ToName = cd.internBytes(b.str16())
	}
	cd.decodeFixed(&b, f, m)
	if f&fieldReason != 0 {
		m.Reason = string(b.str16())
	}
	if b.err != nil {
		return fmt.Errorf("%w: %v body: %v", ErrProtocol, t, b.err)
	}
	return decodePayload(t, f, body[b.off:], owned, spare, m)
}

// decodePayload sets m.Payload from the bytes after the last field.
func decodePayload(t FrameType, f uint8, rest []byte, owned bool, spare []byte, m *Message) error {
	switch {
	case f&fieldPayload == 0 && len(rest) != 0:
		return fmt.Errorf("%w: %v body has %d trailing bytes", ErrProtocol, t, len(rest))
	case f&fieldPayload == 0:
		return nil
	case len(rest) == 0:
		return fmt.Errorf("%w: %v body: payload flagged but empty", ErrProtocol, t)
	case owned:
		m.Payload = rest[:len(rest):len(rest)]
	case len(rest) <= len(spare):
		m.Payload = spare[:len(rest):len(rest)]
		copy(m.Payload, rest)
	default:
		m.Payload = append([]byte(nil), rest...)
	}
	return nil
}

func (cd *codec) decodeFixed(b *bodyReader, f uint8, m *Message) {
	if f&fieldRef != 0 {
		m.Ref = b.u64()
	}
	if f&fieldTTL != 0 {
		m.TTL = durationFromWire(b.u64())
	}
	if f&fieldStatus != 0 {
		m.Status = b.u8()
		if m.Status == 0 && b.err == nil {
			b.err = fmt.Errorf("status flagged but zero")
		}
	}
}

func (cd *codec) readPID(b *bodyReader) PID {
	var p PID
	switch form := b.u8(); form {
	case pidSender:
		p.Node = cd.peer // the peer sent this frame
	case pidReceiver:
		p.Node = cd.local
	case pidExplicit:
		p.Node = cd.internBytes(b.str8())
	default:
		if b.err == nil {
			b.err = fmt.Errorf("bad PID form %d", form)
		}
	}
	p.ID = b.u64()
	p.Creation = b.u32()
	return p
}

// internBytes returns s as a string, sharing storage with earlier equal
// strings while the cache has room (names repeat in every frame).
func (cd *codec) internBytes(s []byte) string {
	if v, ok := cd.intern[string(s)]; ok {
		return v
	}
	v := string(s)
	if cd.intern == nil {
		cd.intern = make(map[string]string)
	}
	if len(cd.intern) < internMax {
		cd.intern[v] = v
	}
	return v
}

// bodyReader reads big-endian fields from a body, recording the first error
// (a truncated field) instead of panicking.
type bodyReader struct {
	buf []byte
	off int
	err error
}

func (b *bodyReader) take(n int) []byte {
	if b.err != nil {
		return nil
	}
	if n > len(b.buf)-b.off {
		b.err = fmt.Errorf("truncated at offset %d (need %d bytes, have %d)", b.off, n, len(b.buf)-b.off)
		return nil
	}
	s := b.buf[b.off : b.off+n]
	b.off += n
	return s
}

func (b *bodyReader) u8() uint8 {
	if s := b.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (b *bodyReader) u32() uint32 {
	if s := b.take(4); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (b *bodyReader) u64() uint64 {
	if s := b.take(8); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

func (b *bodyReader) str8() []byte { return b.take(int(b.u8())) }

func (b *bodyReader) str16() []byte {
	var n int
	if s := b.take(2); s != nil {
		n = int(binary.BigEndian.Uint16(s))
	}
	if n == 0 && b.err == nil {
		b.err = fmt.Errorf("empty string flagged as present at offset %d", b.off)
	}
	return b.take(n)
}

// finish reports an error if bytes remain after the last field.
func (b *bodyReader) finish() error {
	if b.err == nil && b.off != len(b.buf) {
		b.err = fmt.Errorf("%d trailing bytes", len(b.buf)-b.off)
	}
	return b.err
}

// durationFromWire converts a wire TTL (two's complement nanoseconds).
func durationFromWire(v uint64) time.Duration { return time.Duration(int64(v)) }
