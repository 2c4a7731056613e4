package transport

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// Handshake frame types (docs/protocol.md §4). They share the frame header
// with data frames but are only valid before authentication.
const (
	hsHello     FrameType = 0xF0
	hsChallenge FrameType = 0xF1
	hsAuth      FrameType = 0xF2
	hsAuthAck   FrameType = 0xF3
	hsConfirm   FrameType = 0xF4
	hsReject    FrameType = 0xF5
)

var hsTypeNames = map[FrameType]string{
	hsHello: "Hello", hsChallenge: "Challenge", hsAuth: "Auth",
	hsAuthAck: "AuthAck", hsConfirm: "Confirm", hsReject: "Reject",
}

// AuthAck statuses.
const (
	statusOK    uint8 = 1 // connection accepted
	statusNOK   uint8 = 2 // simultaneous connect: the acceptor's own connection wins
	statusAlive uint8 = 3 // the acceptor already has a connection with the dialer
)

// Reject codes.
const (
	rejectVersion  uint8 = 1
	rejectAuth     uint8 = 2
	rejectProtocol uint8 = 3
	rejectShutdown uint8 = 4
)

const (
	nonceSize     = 32
	proofSize     = sha256.Size
	helloFixed    = 51 // Hello/Challenge bytes before the name
	flagHidden    = 1 << 0
	minPeerFrame  = 1 << 10
	maxPeerFrame  = 1 << 31
	minPeerWindow = 2 << 10
	maxPeerWindow = 1 << 30
	proofDomain   = "placer-handshake-v1"
	labelDialer   = "dialer"
	labelAcceptor = "acceptor"
)

var magic = [4]byte{'P', 'L', 'C', 'R'}

// Internal handshake outcomes that are not failures of the peer.
var (
	errLostRace = fmt.Errorf("%w: simultaneous connect: the peer's connection wins", ErrConnClosed)
	errAborted  = fmt.Errorf("%w: peer kept its existing connection", ErrConnClosed)
)

// hsConfig is what one side brings to a handshake.
type hsConfig struct {
	name       string
	hidden     bool
	creation   uint32
	maxFrame   uint32
	window     uint32 // bulk window we grant the peer
	vmin, vmax uint8
	cookieFor  func(peer string) []byte // never returns nil
	rand       io.Reader
	beforeAuth func(peer string) // test hook, may be nil
}

// hsPeer is what a handshake learned about the other side.
type hsPeer struct {
	name     string
	hidden   bool
	creation uint32
	maxFrame uint32
	window   uint32
	version  uint8
}

// hello is the decoded body of a Hello or Challenge. For a Challenge, v1 is
// the agreed version and v2 is reserved (0).
type hello struct {
	v1, v2   uint8
	flags    uint8
	creation uint32
	maxFrame uint32
	window   uint32
	nonce    [nonceSize]byte
	name     string
}

func (h *hello) marshal() []byte {
	b := make([]byte, 0, helloFixed+1+len(h.name))
	b = append(b, magic[:]...)
	b = append(b, h.v1, h.v2, h.flags)
	b = binary.BigEndian.AppendUint32(b, h.creation)
	b = binary.BigEndian.AppendUint32(b, h.maxFrame)
	b = binary.BigEndian.AppendUint32(b, h.window)
	b = append(b, h.nonce[:]...)
	b = append(b, byte(len(h.name)))
	return append(b, h.name...)
}

func parseHello(body []byte) (hello, error) {
	var h hello
	b := bodyReader{buf: body}
	if m := b.take(4); m != nil && [4]byte(m) != magic {
		return h, fmt.Errorf("%w: bad magic %q", ErrProtocol, m)
	}
	h.v1, h.v2, h.flags = b.u8(), b.u8(), b.u8()
	h.creation, h.maxFrame, h.window = b.u32(), b.u32(), b.u32()
	copy(h.nonce[:], b.take(nonceSize))
	h.name = string(b.str8())
	if err := b.finish(); err != nil {
		return h, fmt.Errorf("%w: handshake: %v", ErrProtocol, err)
	}
	if err := ValidateName(h.name); err != nil {
		return h, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if h.maxFrame < minPeerFrame || h.maxFrame > maxPeerFrame {
		return h, fmt.Errorf("%w: peer frame limit %d out of range", ErrProtocol, h.maxFrame)
	}
	if h.window < minPeerWindow || h.window > maxPeerWindow {
		return h, fmt.Errorf("%w: peer bulk window %d out of range", ErrProtocol, h.window)
	}
	return h, nil
}

// proof computes the HMAC of one role over the exchanged Hello and
// Challenge bodies (and, for the acceptor, the status).
func proof(cookie []byte, role string, helloBody, challengeBody []byte, status []byte) []byte {
	mac := hmac.New(sha256.New, cookie)
	for _, part := range [][]byte{[]byte(proofDomain), []byte(role), helloBody, challengeBody} {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(part)))
		mac.Write(l[:])
		mac.Write(part)
	}
	mac.Write(status)
	return mac.Sum(nil)
}

// readHS reads one handshake frame of at most preAuthMaxBody bytes.
func readHS(r *bufio.Reader) (FrameType, []byte, error) {
	h, err := r.Peek(headerSize)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading handshake: %w", ErrConnClosed, err)
	}
	t, n := FrameType(h[0]), binary.BigEndian.Uint32(h[1:])
	if _, ok := hsTypeNames[t]; !ok {
		return 0, nil, fmt.Errorf("%w: frame type %d before authentication", ErrProtocol, h[0])
	}
	if n > preAuthMaxBody {
		return 0, nil, fmt.Errorf("%w: %w: %v of %d bytes before authentication (max %d)", ErrProtocol, ErrFrameTooLarge, t, n, preAuthMaxBody)
	}
	_, _ = r.Discard(headerSize)
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, fmt.Errorf("%w: reading handshake: %w", ErrConnClosed, err)
	}
	return t, body, nil
}

// expectHS reads a handshake frame of type want, turning a Reject into the
// matching error.
func expectHS(r *bufio.Reader, want FrameType) ([]byte, error) {
	t, body, err := readHS(r)
	switch {
	case err != nil:
		return nil, err
	case t == hsReject:
		return nil, rejectError(body)
	case t != want:
		return nil, fmt.Errorf("%w: got %v, want %v", ErrProtocol, t, want)
	}
	return body, nil
}

func writeHS(w io.Writer, t FrameType, body []byte) error {
	f := make([]byte, 0, headerSize+len(body))
	f = append(f, byte(t))
	f = binary.BigEndian.AppendUint32(f, uint32(len(body)))
	if _, err := w.Write(append(f, body...)); err != nil {
		return fmt.Errorf("%w: writing %v: %w", ErrConnClosed, t, err)
	}
	return nil
}

func writeReject(w io.Writer, code uint8, text string) {
	if len(text) > maxNameLen {
		text = text[:maxNameLen]
	}
	_ = writeHS(w, hsReject, append([]byte{code, byte(len(text))}, text...)) // best effort: we close anyway
}

func rejectError(body []byte) error {
	b := bodyReader{buf: body}
	code, text := b.u8(), string(b.str8())
	if err := b.finish(); err != nil {
		return fmt.Errorf("%w: malformed Reject: %v", ErrProtocol, err)
	}
	switch code {
	case rejectVersion:
		return fmt.Errorf("%w: %w: peer rejected us: %s", ErrProtocol, ErrVersion, text)
	case rejectAuth:
		return fmt.Errorf("%w: peer rejected our handshake (wrong cookie?): %s", ErrAuth, text)
	case rejectShutdown:
		return fmt.Errorf("%w: peer is shutting down", ErrConnClosed)
	}
	return fmt.Errorf("%w: peer rejected us (code %d): %s", ErrProtocol, code, text)
}

// agreeVersion returns the highest version in both ranges, or 0.
func agreeVersion(amin, amax, bmin, bmax uint8) uint8 {
	hi, lo := min(amax, bmax), max(amin, bmin)
	if hi < lo || hi == 0 {
		return 0
	}
	return hi
}

func (c *hsConfig) newHello(v1, v2 uint8) (hello, error) {
	h := hello{v1: v1, v2: v2, creation: c.creation, maxFrame: c.maxFrame, window: c.window, name: c.name}
	if c.hidden {
		h.flags |= flagHidden
	}
	if _, err := io.ReadFull(c.rand, h.nonce[:]); err != nil {
		return h, fmt.Errorf("%w: reading nonce: %w", ErrAuth, err)
	}
	return h, nil
}

func peerFrom(h hello, version uint8) hsPeer {
	return hsPeer{name: h.name, hidden: h.flags&flagHidden != 0, creation: h.creation, maxFrame: h.maxFrame, window: h.window, version: version}
}
