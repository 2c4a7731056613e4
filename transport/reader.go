package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Fragment flags (docs/protocol.md §3).
const (
	fragFirst uint8 = 1 << 0
	fragLast  uint8 = 1 << 1
)

// errTruncated marks a connection that ended in the middle of a frame.
var errTruncated = fmt.Errorf("%w inside a frame", ErrConnClosed)

// frameReader reads data frames from an authenticated connection, checks
// each header before reading its body, reassembles fragments and handles
// the bulk-lane flow control. It is owned by the connection's reader
// goroutine (and by the fuzz test).
type frameReader struct {
	r       *bufio.Reader
	cd      *codec
	maxBody int    // largest body accepted (our MaxFrameSize)
	asm     []byte // the fragmented frame being reassembled (full length); nil if none
	fill    int    // bytes of asm received

	ackEvery int               // send a BulkAck once this many fragment bytes are unacknowledged
	unacked  int               // fragment bytes read and not yet acknowledged
	ack      func(n int)       // queues a BulkAck; nil in tests
	credit   func(n int) error // applies a BulkAck from the peer; nil in tests
}

// next returns the next data message; heartbeats and flow-control frames
// are consumed on the way. Errors wrap ErrProtocol (malformed input),
// errTruncated (the stream ended mid-frame) or are the underlying read
// error (io.EOF, a timeout).
func (fr *frameReader) next() (*Message, error) {
	for {
		t, n, err := fr.header()
		if err != nil {
			return nil, err
		}
		switch t {
		case FrameHeartbeat:
			if n != 0 {
				return nil, fmt.Errorf("%w: heartbeat with %d-byte body", ErrProtocol, n)
			}
			_, _ = fr.r.Discard(headerSize) // Peek guaranteed these bytes
		case FrameBulkAck:
			if err := fr.bulkAck(n); err != nil {
				return nil, err
			}
		case FrameFragment:
			m, err := fr.fragment(n)
			if err != nil || m != nil {
				return m, err
			}
		default:
			return fr.data(t, n)
		}
	}
}

// header peeks at the next frame header and validates type and length.
func (fr *frameReader) header() (FrameType, int, error) {
	h, err := fr.r.Peek(headerSize)
	if err != nil {
		if len(h) > 0 && errors.Is(err, io.EOF) {
			return 0, 0, errTruncated
		}
		return 0, 0, err
	}
	t := FrameType(h[0])
	n := int64(binary.BigEndian.Uint32(h[1:]))
	if t != FrameHeartbeat && t != FrameFragment && t != FrameBulkAck && !isDataType(t) {
		return 0, 0, fmt.Errorf("%w: unknown frame type %d", ErrProtocol, h[0])
	}
	if n > int64(fr.maxBody) {
		return 0, 0, fmt.Errorf("%w: %w: %v frame of %d bytes (max %d)", ErrProtocol, ErrFrameTooLarge, t, n, fr.maxBody)
	}
	return t, int(n), nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return err
}

// data decodes an ordinary data frame of type t with an n-byte body.
func (fr *frameReader) data(t FrameType, n int) (*Message, error) {
	if headerSize+n > fr.r.Size() {
		_, _ = fr.r.Discard(headerSize)
		body := make([]byte, n) // n was checked against maxBody in header
		if _, err := io.ReadFull(fr.r, body); err != nil {
			return nil, truncated(err)
		}
		m := new(Message)
		return m, fr.cd.decodeBody(t, body, true, nil, m)
	}
	b, err := fr.r.Peek(headerSize + n)
	if err != nil {
		return nil, truncated(err)
	}
	m, spare := newMessage(n)
	err = fr.cd.decodeBody(t, b[headerSize:], false, spare, m)
	_, _ = fr.r.Discard(headerSize + n)
	return m, err
}

// msgWith64 and msgWith256 let a small frame's Message and its payload
// share one allocation (the payload lives in buf).
type msgWith64 struct {
	m   Message
	buf [64]byte
}

type msgWith256 struct {
	m   Message
	buf [256]byte
}

// newMessage returns a Message for a body of n bytes and, when the payload
// is small enough, room for it in the same allocation.
func newMessage(n int) (*Message, []byte) {
	switch {
	case n <= 64+pidFixedSize*2+16:
		x := new(msgWith64)
		return &x.m, x.buf[:]
	case n <= 256+pidFixedSize*2+16:
		x := new(msgWith256)
		return &x.m, x.buf[:]
	}
	return new(Message), nil
}

// bulkAck consumes a BulkAck frame with an n-byte body.
func (fr *frameReader) bulkAck(n int) error {
	if n != 4 {
		return fmt.Errorf("%w: BulkAck with %d-byte body", ErrProtocol, n)
	}
	b, err := fr.r.Peek(headerSize + 4)
	if err != nil {
		return truncated(err)
	}
	v := int64(binary.BigEndian.Uint32(b[headerSize:]))
	_, _ = fr.r.Discard(headerSize + 4)
	if v == 0 {
		return fmt.Errorf("%w: BulkAck of 0 bytes", ErrProtocol)
	}
	if fr.credit != nil {
		return fr.credit(int(v))
	}
	return nil
}

// fragment consumes one Fragment frame with an n-byte body, reading its
// data straight into the reassembly buffer. It returns the reassembled
// message after the LAST fragment and nil before.
func (fr *frameReader) fragment(n int) (*Message, error) {
	flags, hl, err := fr.fragmentHeader(n)
	if err != nil {
		return nil, err
	}
	data := n - hl
	if data < 1 || fr.fill+data > len(fr.asm) {
		return nil, fmt.Errorf("%w: fragment of %d bytes at %d of %d", ErrProtocol, data, fr.fill, len(fr.asm))
	}
	_, _ = fr.r.Discard(headerSize + hl) // fragmentHeader peeked these
	if _, err := io.ReadFull(fr.r, fr.asm[fr.fill:fr.fill+data]); err != nil {
		return nil, truncated(err)
	}
	fr.fill += data
	last := flags&fragLast != 0
	if fr.unacked += data; fr.ack != nil && (fr.unacked >= fr.ackEvery || last) {
		fr.ack(fr.unacked)
		fr.unacked = 0
	}
	if !last {
		return nil, nil
	}
	if fr.fill != len(fr.asm) {
		return nil, fmt.Errorf("%w: LAST fragment at %d of %d bytes", ErrProtocol, fr.fill, len(fr.asm))
	}
	frame := fr.asm
	fr.asm, fr.fill = nil, 0
	return fr.assembled(frame)
}

// fragmentHeader peeks at a Fragment's flags (and total, for FIRST),
// checks them against the reassembly state, starts a reassembly for FIRST,
// and returns the flags and the length of the fragment header in the body.
func (fr *frameReader) fragmentHeader(n int) (uint8, int, error) {
	if n < 2 {
		return 0, 0, fmt.Errorf("%w: fragment of %d bytes", ErrProtocol, n)
	}
	h, err := fr.r.Peek(headerSize + 1)
	if err != nil {
		return 0, 0, truncated(err)
	}
	flags := h[headerSize]
	switch {
	case flags&^(fragFirst|fragLast) != 0:
		return 0, 0, fmt.Errorf("%w: fragment flags %#x", ErrProtocol, flags)
	case flags&fragFirst == 0 && fr.asm == nil:
		return 0, 0, fmt.Errorf("%w: fragment continues no frame", ErrProtocol)
	case flags&fragFirst == 0:
		return flags, 1, nil
	case fr.asm != nil:
		return 0, 0, fmt.Errorf("%w: FIRST fragment while another frame is being reassembled", ErrProtocol)
	case n < 6:
		return 0, 0, fmt.Errorf("%w: FIRST fragment of %d bytes", ErrProtocol, n)
	}
	if h, err = fr.r.Peek(headerSize + 5); err != nil {
		return 0, 0, truncated(err)
	}
	total := int64(binary.BigEndian.Uint32(h[headerSize+1:]))
	if total < headerSize+1 {
		return 0, 0, fmt.Errorf("%w: fragmented frame of %d bytes", ErrProtocol, total)
	}
	if total > int64(fr.maxBody)+headerSize {
		return 0, 0, fmt.Errorf("%w: %w: fragmented frame of %d bytes (max %d)", ErrProtocol, ErrFrameTooLarge, total, fr.maxBody+headerSize)
	}
	fr.asm = make([]byte, total)
	return flags, 5, nil
}

// assembled decodes a reassembled frame, which must be one data frame.
func (fr *frameReader) assembled(frame []byte) (*Message, error) {
	t := FrameType(frame[0])
	n := binary.BigEndian.Uint32(frame[1:headerSize])
	if !isDataType(t) || int64(n) != int64(len(frame)-headerSize) {
		return nil, fmt.Errorf("%w: reassembled frame type %d, length %d of %d", ErrProtocol, frame[0], n, len(frame)-headerSize)
	}
	m := new(Message)
	if err := fr.cd.decodeBody(t, frame[headerSize:], true, nil, m); err != nil {
		return nil, err
	}
	return m, nil
}
