package transport

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
)

// run is the connection's reader goroutine, entered once the connection is
// registered. It starts the writer, delivers PeerUp, every decoded message
// and PeerDown, and unregisters the connection when it ends.
func (c *conn) run() {
	if !c.ep.goTrack(c.writeLoop) {
		c.closeWith(fmt.Errorf("%w: endpoint closed", ErrShutdown))
	}
	up := true
	if c.pred != nil {
		select { // callbacks for one peer never overlap
		case <-c.pred.downDone:
		case <-c.ep.done: // shutting down: no PeerUp for c
			up = false
		}
	}
	h := c.ep.h
	up = up && !c.isClosed()
	if up {
		c.log.Info().Str("addr", c.info.Addr).Bool("hidden", c.info.Hidden).Msg("peer up")
		h.PeerUp(c.info)
		c.dr.arm(c.ep.cfg.HeartbeatTimeout)
		c.readLoop()
	}
	c.closeWith(fmt.Errorf("%w: endpoint closed", ErrShutdown)) // no-op unless never up
	c.ep.forget(c)
	if up {
		c.logDown()
		h.PeerDown(c.info, c.reason)
	}
	close(c.downDone)
	c.ep.tidy(c.info.Name)
}

// readLoop decodes and dispatches frames until the connection fails.
//
// After dispatching a frame with nothing more buffered, the reader yields
// the processor before its next read. The handler has usually just readied
// a goroutine (a caller waiting for this reply), which the Go scheduler
// queues to run next on this processor, after the reader's next read finds
// nothing and parks it; meanwhile the scheduler wakes a thread for the idle
// processor, which may take the readied goroutine to the other CPU, and
// every wakeup across CPUs costs 10–30 µs on a virtual machine. Yielding
// runs it at once, here. In execution traces of sequential calls its wait
// fell from 1.0 µs (p50) and 9 µs (p90) to 0.2 and 0.3 µs, and the call
// round trip from 16–19 µs to 15 µs p50 and from 60–75 µs to 45–55 µs p99
// (docs/benchmarks.md), for one Gosched per read burst.
func (c *conn) readLoop() {
	h := c.ep.h
	for {
		m, err := c.fr.next()
		if err != nil {
			c.closeWith(c.readError(err))
			return
		}
		more := c.br.Buffered() > 0
		if more {
			c.moreInput.Store(true)
		}
		h.HandleMessage(c.info.Name, m)
		if more {
			c.moreInput.Store(false)
		} else {
			runtime.Gosched() // run what the handler readied first (see above)
		}
	}
}

func (c *conn) readError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrProtocol):
		return err
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: nothing received from %s for %v", ErrHeartbeatTimeout, c.info.Name, c.ep.cfg.HeartbeatTimeout)
	}
	return fmt.Errorf("%w: read: %v", ErrConnClosed, err)
}

func (c *conn) logDown() {
	ev := c.log.Info()
	if errors.Is(c.reason, ErrProtocol) || errors.Is(c.reason, ErrHeartbeatTimeout) {
		ev = c.log.Warn()
	}
	ev.Str("addr", c.info.Addr).Str("reason", c.reason.Error()).Msg("peer down")
}

// abandon disposes of a connection whose handshake failed after it was
// registered: nothing was delivered for it, so no callbacks follow.
func (c *conn) abandon(reason error) {
	c.closeWith(reason)
	c.ep.forget(c)
	close(c.downDone)
	c.ep.tidy(c.info.Name)
}

// deadlineReader is the reader under the connection's bufio.Reader. Once
// armed it keeps a read deadline of timeout ahead of each read, refreshing
// it at most every timeout/8, so a peer silent for timeout (7/8 of it at
// the earliest) fails the blocked read.
type deadlineReader struct {
	c       net.Conn
	timeout time.Duration // 0 until armed: the handshake sets its own deadline
	lastSet time.Time
}

func (d *deadlineReader) arm(timeout time.Duration) { d.timeout = timeout }

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.timeout > 0 {
		if now := time.Now(); now.Sub(d.lastSet) > d.timeout/8 {
			if err := d.c.SetReadDeadline(now.Add(d.timeout)); err != nil {
				return 0, err
			}
			d.lastSet = now
		}
	}
	return d.c.Read(p)
}
