package transport

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/logbuf"
)

// rawPeer is a connection driven by hand: it runs the real dialer handshake
// and then reads and writes raw frames, so tests can make a peer that goes
// silent, stops reading, or sends garbage.
type rawPeer struct {
	nc   net.Conn
	br   *bufio.Reader
	enc  codec
	peer hsPeer
}

// rawOpts configures dialRaw.
type rawOpts struct {
	name     string // our node name
	cookie   []byte
	creation uint32
	replace  bool // answer to ALIVE
	hidden   bool
}

// dialRaw connects to addr and completes a dialer handshake with target.
func dialRaw(t testing.TB, addr, target string, o rawOpts) (*rawPeer, error) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
	if o.cookie == nil {
		o.cookie = testCookie
	}
	r := &rawPeer{nc: nc, br: bufio.NewReader(nc), enc: codec{local: o.name, peer: target}}
	cfg := rawHS(o)
	r.peer, err = dialHandshake(r.br, nc, &cfg, target, dialDecisions{
		commit: func(hsPeer) error { return nil },
		alive:  func(hsPeer) (bool, error) { return o.replace, nil },
	})
	_ = nc.SetDeadline(time.Time{})
	return r, err
}

func rawHS(o rawOpts) hsConfig {
	cookie := o.cookie
	return hsConfig{
		name: o.name, hidden: o.hidden, creation: o.creation, maxFrame: 1 << 20, window: 1 << 20,
		vmin: MinVersion, vmax: MaxVersion, rand: rand.Reader,
		cookieFor: func(string) []byte { return cookie },
	}
}

func (r *rawPeer) write(t testing.TB, b []byte) {
	t.Helper()
	_ = r.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.nc.Write(b); err != nil {
		t.Fatalf("raw write: %v", err)
	}
}

// frames reads frames until the connection ends, counting heartbeats.
func (r *rawPeer) countHeartbeats(count *int64, mu *sync.Mutex) {
	hdr := make([]byte, headerSize)
	for {
		if _, err := r.br.Read(hdr[:1]); err != nil {
			return
		}
		if _, err := readFull(r.br, hdr[1:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if _, err := r.br.Discard(int(n)); err != nil {
			return
		}
		if FrameType(hdr[0]) == FrameHeartbeat {
			mu.Lock()
			*count++
			mu.Unlock()
		}
	}
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// frame builds a raw frame from a type and body.
func frame(t FrameType, body []byte) []byte {
	b := append([]byte{byte(t)}, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)))
	return append(b, body...)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = logbuf.Buffer
