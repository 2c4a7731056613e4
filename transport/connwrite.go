package transport

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// fragHeaderMax is the longest Fragment header: frame header, flags, total.
const fragHeaderMax = headerSize + 5

var heartbeatFrame = [headerSize]byte{byte(FrameHeartbeat)}

// writerState is owned by the writer goroutine.
type writerState struct {
	bufs        net.Buffers // the batch being written
	chunks      [][]byte    // priority chunks in the batch, recycled after the write
	finished    []byte      // a bulk frame whose last fragment is in the batch, recycled after the write
	ctrl        []byte      // the control buffer in the batch; swapped with conn.ctrl
	frag        [fragHeaderMax]byte
	flat        []byte // TLS only: the batch copied into one buffer
	lastWrite   time.Time
	deadlineSet time.Time
}

// writeLoop is the connection's writer goroutine.
func (c *conn) writeLoop() {
	tick := time.NewTicker(c.ep.cfg.HeartbeatInterval)
	defer tick.Stop()
	c.w.lastWrite = time.Now()
	for c.nextBatch(tick.C) {
		if err := c.writeBatch(); err != nil {
			c.closeWith(c.writeError(err))
			return
		}
	}
}

// nextBatch waits for work (or a due heartbeat) and moves it into c.w:
// control frames, up to maxBatchChunks chunks of the priority lane and one
// step of the bulk lane. It returns false once the connection is closed.
func (c *conn) nextBatch(tick <-chan time.Time) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.recycleLocked()
	for {
		if c.closedW {
			return false
		}
		if !c.inline && c.hasWorkLocked() {
			break
		}
		c.trimFreeLocked()
		c.writerIdle = true
		if c.allSentLocked() {
			c.releaseSentLocked()
		}
		c.wmu.Unlock()
		heartbeat := false
		select {
		case <-c.wake:
		case <-c.done:
		case <-tick:
			heartbeat = time.Since(c.w.lastWrite) >= c.ep.cfg.HeartbeatInterval
		}
		c.wmu.Lock()
		if heartbeat {
			c.ctrl = append(c.ctrl, heartbeatFrame[:]...)
		}
	}
	c.writerIdle = false
	c.takeLocked()
	return true
}

func (c *conn) hasWorkLocked() bool {
	return len(c.ctrl) > 0 || len(c.prio) > 0 || c.bulkReadyLocked()
}

// bulkReadyLocked reports whether the bulk lane's head may be sent now:
// a whole frame always, a fragment only within the peer's window.
func (c *conn) bulkReadyLocked() bool {
	if len(c.bulk) == 0 {
		return false
	}
	it := &c.bulk[0]
	return it.whole || c.inflight+min(c.chunk, len(it.data)-it.off) <= c.peerWindow
}

// takeLocked fills c.w.bufs with the next batch.
func (c *conn) takeLocked() {
	w := &c.w
	w.bufs, w.chunks = w.bufs[:0], w.chunks[:0]
	if len(c.ctrl) > 0 {
		w.ctrl, c.ctrl = c.ctrl, w.ctrl[:0]
		w.bufs = append(w.bufs, w.ctrl)
	}
	taken := 0
	k := min(len(c.prio), maxBatchChunks)
	for _, b := range c.prio[:k] {
		w.bufs, w.chunks = append(w.bufs, b), append(w.chunks, b)
		taken += len(b)
	}
	n := copy(c.prio, c.prio[k:])
	clear(c.prio[n:])
	c.prio = c.prio[:n]
	taken += c.takeBulkLocked()
	c.queued -= taken
	if c.space != nil {
		close(c.space)
		c.space = nil
	}
}

// takeBulkLocked adds the whole frames at the head of the bulk lane, or one
// fragment, to the batch and returns the queued bytes taken.
func (c *conn) takeBulkLocked() int {
	taken := 0
	for len(c.bulk) > 0 && taken < bulkBatchMax {
		it := &c.bulk[0]
		if it.whole {
			c.w.bufs = append(c.w.bufs, it.data)
			taken += len(it.data)
			c.popBulkLocked()
			continue
		}
		n := min(c.chunk, len(it.data)-it.off)
		if c.inflight+n > c.peerWindow {
			break
		}
		c.w.bufs = append(c.w.bufs, c.fragHeader(it, n), it.data[it.off:it.off+n])
		it.off += n
		c.inflight += n
		taken += n
		if it.off == len(it.data) {
			c.w.finished = it.data
			c.popBulkLocked()
		}
		break
	}
	return taken
}

// fragHeader encodes the header of the Fragment carrying n bytes of it at
// its current offset into the writer's scratch space.
func (c *conn) fragHeader(it *bulkItem, n int) []byte {
	flags, bodyLen := uint8(0), 1+n
	if it.off == 0 {
		flags |= fragFirst
		bodyLen += 4
	}
	if it.off+n == len(it.data) {
		flags |= fragLast
	}
	h := append(c.w.frag[:0], byte(FrameFragment))
	h = binary.BigEndian.AppendUint32(h, uint32(bodyLen))
	h = append(h, flags)
	if flags&fragFirst != 0 {
		h = binary.BigEndian.AppendUint32(h, uint32(len(it.data)))
	}
	return h
}

func (c *conn) popBulkLocked() {
	copy(c.bulk, c.bulk[1:])
	c.bulk[len(c.bulk)-1] = bulkItem{}
	c.bulk = c.bulk[:len(c.bulk)-1]
}

// recycleLocked returns the chunks of the last batch to the free list.
func (c *conn) recycleLocked() {
	maxFree := c.maxQueue/chunkSize + 1
	for i, b := range c.w.chunks {
		if len(c.free) < maxFree && cap(b) == chunkSize {
			c.free = append(c.free, b[:0])
		}
		c.w.chunks[i] = nil
	}
	c.w.chunks = c.w.chunks[:0]
	clear(c.w.bufs[:cap(c.w.bufs)])
	if c.w.finished != nil && len(c.bulkFree) < maxBulkFree {
		c.bulkFree = append(c.bulkFree, c.w.finished)
	}
	c.w.finished = nil
}

// trimFreeLocked releases spare chunks beyond what an idle connection keeps.
func (c *conn) trimFreeLocked() {
	if len(c.free) > idleFreeChunks {
		clear(c.free[idleFreeChunks:])
		c.free = c.free[:idleFreeChunks]
	}
	if len(c.bulk) == 0 {
		clear(c.bulkFree)
		c.bulkFree = c.bulkFree[:0]
	}
}

// writeBatch writes c.w.bufs with one writev (plain TCP) or one Write (TLS).
func (c *conn) writeBatch() error {
	now := time.Now()
	if now.Sub(c.w.deadlineSet) > c.ep.cfg.WriteTimeout/8 {
		if err := c.rw.SetWriteDeadline(now.Add(c.ep.cfg.WriteTimeout)); err != nil {
			return err
		}
		c.w.deadlineSet = now
	}
	var err error
	if _, isTLS := c.rw.(*tls.Conn); isTLS {
		c.w.flat = c.w.flat[:0]
		for _, b := range c.w.bufs {
			c.w.flat = append(c.w.flat, b...)
		}
		_, err = c.rw.Write(c.w.flat)
		if cap(c.w.flat) > 4*chunkSize {
			c.w.flat = nil
		}
	} else {
		bufs := c.w.bufs
		_, err = bufs.WriteTo(c.rw)
	}
	c.w.lastWrite = time.Now()
	return err
}

func (c *conn) writeError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: write stalled for %v (peer not reading)", ErrConnClosed, c.ep.cfg.WriteTimeout)
	}
	return fmt.Errorf("%w: write: %v", ErrConnClosed, err)
}

func appendBulkAck(dst []byte, n int) []byte {
	dst = append(dst, byte(FrameBulkAck), 0, 0, 0, 4)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}
