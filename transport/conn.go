package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

const (
	readBufSize    = 64 << 10              // bufio.Reader size; frames up to this are decoded in place
	chunkSize      = 64 << 10              // priority-lane buffers
	maxBatchChunks = 8                     // priority-lane chunks per write (512 KiB)
	idleFreeChunks = 2                     // spare chunks an idle connection keeps
	bulkBatchMax   = 64 << 10              // whole frames drained from the bulk lane per write
	maxBulkFree    = 2                     // finished bulk buffers kept for reuse while the lane is busy
	inlineGap      = 8 * time.Microsecond  // quiet time before a send may write inline
	inlineBackoff  = 10 * time.Millisecond // no inline writes this long after one met contention
)

// errConnGone marks a Send on a connection that closed meanwhile; Endpoint
// retries such a Send once on a fresh connection.
var errConnGone = fmt.Errorf("%w while sending", ErrConnClosed)

// errDisconnected is the reason of a connection closed by Disconnect.
var errDisconnected = fmt.Errorf("%w: disconnected locally", ErrConnClosed)

// closedLocally reports whether c was closed by Disconnect. It is set
// under wmu with closedW, so a sender woken by the close sees it (done is
// closed only after).
func (c *conn) closedLocally() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.disconnected
}

// conn is one authenticated (or authenticating) connection to a peer. It
// has one reader goroutine (run) and one writer goroutine (writeLoop).
//
// Senders encode frames straight into the priority lane's current 64 KiB
// chunk under wmu and wake the writer only when it is idle; the writer takes
// whatever accumulated and writes it with one writev, plus at most one
// fragment of the bulk lane, which is written from the sender's encoded
// copy without another copy. Fragments are sent only within the peer's
// bulk window, which the peer replenishes with BulkAck frames as it reads.
type conn struct {
	ep   *Endpoint
	nc   net.Conn // the TCP connection; closing it stops both goroutines
	rw   net.Conn // nc, or the *tls.Conn over it
	dr   *deadlineReader
	br   *bufio.Reader
	fr   frameReader
	log  zerolog.Logger
	info PeerInfo // set by setPeer before registration, then read-only
	enc  codec    // names for PID forms; read-only after setPeer

	peerMax    int // largest body the peer accepts
	peerWindow int // bulk bytes we may have unacknowledged
	chunk      int // data bytes per fragment
	fragSize   int // frames longer than this go on the bulk lane
	maxQueue   int

	inl *inlineWriter // plain TCP on unix only: for inline writes; nil with TLS

	wmu          sync.Mutex    // guards the fields up to closedW
	prio         [][]byte      // priority lane: encoded frames in chunks, the last one being filled
	free         [][]byte      // spare chunks
	bulkFree     [][]byte      // bulk buffers the writer finished with (at most maxBulkFree)
	ctrl         []byte        // control frames (BulkAck, heartbeat), written first; not counted in queued
	bulk         []bulkItem    // bulk lane, in order
	inflight     int           // fragment bytes sent and not yet acknowledged
	queued       int           // encoded bytes on both lanes not yet taken by the writer
	writerIdle   bool          // the writer is waiting for wake
	inline       bool          // a sender is writing inline; the writer must wait
	inlineBuf    []byte        // the inline writer's buffer (owned by whoever set inline)
	lastEligible time.Time     // last send that found the writer idle and the queue empty
	inlineOff    time.Time     // no inline writes before this: they met contention
	space        chan struct{} // closed when the writer frees queue space; nil if nobody waits
	sent         chan struct{} // closed when the writer is idle with nothing queued; nil if nobody waits
	closedW      bool          // the connection is closed: sends fail
	disconnected bool          // closed by Disconnect (closedLocally)

	w writerState // owned by the writer goroutine

	moreInput atomic.Bool // the reader is dispatching a frame with more input buffered

	wake      chan struct{} // capacity 1: work is queued for an idle writer
	done      chan struct{} // closed by closeWith
	closeOnce sync.Once
	reason    error // why it closed; written once inside closeOnce
	// closing is the reason of a graceful close under way (shutdown): a
	// read or write that fails meanwhile (the peer's answering FIN) closes
	// with it.
	closing atomic.Pointer[error]

	// Guarded by ep.mu.
	registered bool
	pred       *conn         // the previous connection to this peer; PeerUp waits for its PeerDown
	downDone   chan struct{} // closed after PeerDown was delivered (or skipped)
}

// bulkItem is one frame on the bulk lane.
type bulkItem struct {
	data  []byte // the complete encoded frame
	off   int    // bytes of data already sent
	from  PID    // its sender, for per-sender ordering
	whole bool   // a small frame queued behind a bulk one: sent whole, not fragmented
}

// setPeer records what the handshake learned; called before registration.
func (c *conn) setPeer(p hsPeer) {
	cfg := &c.ep.cfg
	c.info = PeerInfo{Name: p.name, Addr: c.nc.RemoteAddr().String(), Hidden: p.hidden, Creation: p.creation, Version: p.version}
	c.enc = codec{local: cfg.Name, peer: p.name}
	c.fr = frameReader{
		r: c.br, cd: &codec{local: cfg.Name, peer: p.name}, maxBody: cfg.MaxFrameSize,
		ackEvery: cfg.BulkWindow / 4, ack: c.sendBulkAck, credit: c.bulkCredit,
	}
	c.peerMax, c.peerWindow = int(p.maxFrame), int(p.window)
	c.chunk = min(cfg.FragmentSize, c.peerMax-fragHeaderMax, c.peerWindow/2)
	c.fragSize = cfg.FragmentSize
	c.maxQueue = cfg.MaxQueueBytes
	c.log = c.ep.log.With().Str("peer", p.name).Logger()
}

// send encodes m onto one of the lanes, blocking while the queue is full.
func (c *conn) send(ctx context.Context, m *Message) error {
	n, f, err := c.enc.bodySize(m)
	if err != nil {
		return err
	}
	if n > c.peerMax {
		return fmt.Errorf("%w: %v body of %d bytes, %s accepts %d", ErrFrameTooLarge, m.Type, n, c.info.Name, c.peerMax)
	}
	total := headerSize + n
	var big []byte
	if total > c.fragSize { // encode outside the lock: it may be a megabyte
		big = c.enc.appendFrame(c.bulkBuffer(total), m, n, f)
	}
	c.wmu.Lock()
	if err := c.waitRoomLocked(ctx, total); err != nil {
		return err // waitRoomLocked unlocked
	}
	if big == nil && c.canInlineLocked() {
		c.writeInlineLocked(m, n, f)
		c.wmu.Unlock()
		return nil
	}
	switch {
	case big != nil:
		c.bulk = append(c.bulk, bulkItem{data: big, from: m.From})
	case len(c.bulk) > 0 && c.bulkHasLocked(m.From):
		c.bulk = append(c.bulk, bulkItem{data: c.enc.appendFrame(make([]byte, 0, total), m, n, f), from: m.From, whole: true})
	default:
		c.appendPrioLocked(m, n, f, total)
	}
	c.queued += total
	c.wakeWriterLocked()
	c.wmu.Unlock()
	return nil
}

// bulkBuffer returns an empty buffer of capacity ≥ total for a bulk frame,
// reusing one the writer has finished with if possible.
func (c *conn) bulkBuffer(total int) []byte {
	c.wmu.Lock()
	for i, b := range c.bulkFree {
		if cap(b) >= total {
			c.bulkFree = slices.Delete(c.bulkFree, i, i+1)
			c.wmu.Unlock()
			return b[:0]
		}
	}
	c.wmu.Unlock()
	return make([]byte, 0, total)
}

// canInlineLocked reports whether a sender may write its frame itself: the
// writer is idle, nothing at all is queued (so the frame is the next byte
// on the wire anyway), the connection was quiet for inlineGap, and its
// reader is not working through a burst. The last two conditions keep
// streams and bursts of replies on the batching writer: sending them
// inline would cost a system call per frame.
func (c *conn) canInlineLocked() bool {
	if c.inl == nil || !c.writerIdle || c.inline || c.queued != 0 || len(c.ctrl) != 0 || len(c.bulk) != 0 || c.moreInput.Load() {
		return false
	}
	now := time.Now()
	quiet := now.Sub(c.lastEligible) >= inlineGap && now.After(c.inlineOff)
	c.lastEligible = now
	return quiet
}

// writeInlineLocked encodes m and writes it with one non-blocking write on
// the caller's goroutine, sparing the hand-off to the writer goroutine (the
// latency of a lone frame). Whatever the socket does not take at once goes
// to the writer, ahead of everything queued meanwhile. wmu is released
// during the write and held again on return.
func (c *conn) writeInlineLocked(m *Message, n int, f uint8) {
	c.inline = true
	buf := c.enc.appendFrame(c.inlineBuf[:0], m, n, f)
	c.wmu.Unlock()
	k := c.inl.writeNow(buf)
	c.wmu.Lock()
	c.inline = false
	if k < len(buf) {
		c.ctrl = append(append([]byte(nil), buf[k:]...), c.ctrl...)
	}
	c.inlineBuf = buf[:0]
	if c.hasWorkLocked() {
		// Others queued frames meanwhile: batching would have served
		// them better, so leave the next ones to the writer for a while.
		c.inlineOff = c.lastEligible.Add(inlineBackoff)
		c.wakeWriterLocked()
	}
}

// appendPrioLocked encodes m at the end of the priority lane.
func (c *conn) appendPrioLocked(m *Message, n int, f uint8, total int) {
	if k := len(c.prio); k > 0 && cap(c.prio[k-1])-len(c.prio[k-1]) >= total {
		c.prio[k-1] = c.enc.appendFrame(c.prio[k-1], m, n, f)
		return
	}
	var b []byte
	if k := len(c.free); k > 0 {
		b, c.free = c.free[k-1], c.free[:k-1]
	} else {
		b = make([]byte, 0, chunkSize) // total ≤ FragmentSize ≤ chunkSize... unless configured larger:
		if total > chunkSize {
			b = make([]byte, 0, total)
		}
	}
	c.prio = append(c.prio, c.enc.appendFrame(b, m, n, f))
}

// wakeWriterLocked wakes the writer if it is waiting.
func (c *conn) wakeWriterLocked() {
	if !c.writerIdle {
		return
	}
	c.writerIdle = false
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// waitRoomLocked returns with wmu held once total bytes fit in the queue,
// or with wmu released and an error.
func (c *conn) waitRoomLocked(ctx context.Context, total int) error {
	for {
		if c.closedW {
			c.wmu.Unlock()
			return fmt.Errorf("%w: %w to %s", ErrNoConnection, errConnGone, c.info.Name)
		}
		if c.queued == 0 || c.queued+total <= c.maxQueue {
			return nil
		}
		if c.space == nil {
			c.space = make(chan struct{})
		}
		ch, queued := c.space, c.queued
		c.wmu.Unlock()
		select {
		case <-ch:
		case <-c.done:
		case <-ctx.Done():
			return fmt.Errorf("%w: %d bytes queued for %s: %w", ErrQueueFull, queued, c.info.Name, ctx.Err())
		}
		c.wmu.Lock()
	}
}

// bulkHasLocked reports whether a frame from sender p is on the bulk lane.
func (c *conn) bulkHasLocked(p PID) bool {
	for i := range c.bulk {
		if c.bulk[i].from == p {
			return true
		}
	}
	return false
}

// sendBulkAck queues a BulkAck granting n more bytes; called by the reader.
func (c *conn) sendBulkAck(n int) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ctrl = appendBulkAck(c.ctrl, n)
	c.wakeWriterLocked()
}

// bulkCredit applies a BulkAck from the peer; called by the reader.
func (c *conn) bulkCredit(n int) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if n > c.inflight {
		return fmt.Errorf("%w: BulkAck for %d bytes, %d in flight", ErrProtocol, n, c.inflight)
	}
	c.inflight -= n
	if len(c.bulk) > 0 {
		c.wakeWriterLocked()
	}
	return nil
}

// closeWith closes the connection once, recording reason (or that of a
// graceful close under way). It never takes ep.mu, so it may be called
// with ep.mu held.
func (c *conn) closeWith(reason error) {
	c.closeOnce.Do(func() {
		if r := c.closing.Load(); r != nil {
			reason = *r
		}
		c.reason = reason
		c.wmu.Lock()
		c.closedW, c.disconnected = true, errors.Is(reason, errDisconnected)
		if c.space != nil {
			close(c.space)
			c.space = nil
		}
		c.releaseSentLocked()
		c.wmu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
}

func (c *conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// shutdown closes c gracefully (Endpoint.Close), by deadline at the
// latest: it waits until the writer has handed everything queued to the
// socket, stops sends, half-closes (TLS close_notify, then a TCP FIN behind
// the data), and waits for the peer to close its side (our reader sees
// EOF), so that the peer reads every frame sent before. A plain close with
// unread input would reset the connection and could lose that tail.
func (c *conn) shutdown(reason error, deadline time.Time) {
	c.closing.Store(&reason)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	c.awaitSent(timer.C)
	c.wmu.Lock()
	c.closedW = true
	c.wakeWriterLocked() // it sees closedW and ends
	c.wmu.Unlock()
	if tc, ok := c.rw.(interface{ CloseWrite() error }); ok && c.rw != c.nc {
		_ = tc.CloseWrite() // TLS: close_notify
	}
	if hc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	select {
	case <-c.done:
	case <-timer.C:
	}
	c.closeWith(reason)
}

// awaitSent returns once the writer is idle with nothing queued, the
// connection closed, or stop fired.
func (c *conn) awaitSent(stop <-chan time.Time) {
	c.wmu.Lock()
	if c.closedW || (c.writerIdle && c.allSentLocked()) {
		c.wmu.Unlock()
		return
	}
	if c.sent == nil {
		c.sent = make(chan struct{})
	}
	ch := c.sent
	c.wmu.Unlock()
	select {
	case <-ch:
	case <-c.done:
	case <-stop:
	}
}

// allSentLocked reports whether nothing is queued on either lane or the
// control buffer and no inline write is under way.
func (c *conn) allSentLocked() bool {
	return c.queued == 0 && len(c.ctrl) == 0 && len(c.bulk) == 0 && !c.inline
}

// releaseSentLocked wakes awaitSent.
func (c *conn) releaseSentLocked() {
	if c.sent != nil {
		close(c.sent)
		c.sent = nil
	}
}
