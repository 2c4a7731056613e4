//go:build unix

package transport

import (
	"net"
	"syscall"
)

// inlineWriter writes to a socket without blocking, for a sender that
// writes a lone frame itself (conn.writeInlineLocked). Its fields are owned
// by whoever holds conn.inline.
type inlineWriter struct {
	rc  syscall.RawConn
	buf []byte
	n   int
	fn  func(fd uintptr) bool // w.write, bound once so writes do not allocate
}

// newInlineWriter returns a writer for nc, or nil if nc is not plain TCP.
func newInlineWriter(nc net.Conn) *inlineWriter {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &inlineWriter{rc: rc}
	w.fn = w.write
	return w
}

// writeNow writes as much of b as the socket takes without blocking and
// returns how much that was. The caller hands the rest to the writer.
func (w *inlineWriter) writeNow(b []byte) int {
	w.buf, w.n = b, 0
	_ = w.rc.Write(w.fn) // an error leaves w.n short; the writer reports it
	w.buf = nil
	return w.n
}

func (w *inlineWriter) write(fd uintptr) bool {
	for w.n < len(w.buf) {
		k, err := syscall.Write(int(fd), w.buf[w.n:])
		if k > 0 {
			w.n += k
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			break
		}
	}
	return true // never wait for writability: the writer goroutine does that
}
