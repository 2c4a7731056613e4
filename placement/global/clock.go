package global

import (
	"sync/atomic"
	"time"
)

// HLC timestamps order every change of a name or lock across nodes: the
// high 48 bits are Unix milliseconds, the low 16 a logical counter. A
// node's clock never goes backwards, every timestamp it issues is larger
// than every one it issued or received before (each message between
// services carries one), and it stays within the clock skew of physical
// time. Fencing tokens are such timestamps.
const hlcLogicalBits = 16

// HLCTime returns the physical time of an HLC timestamp (a registration's
// Registered, a fencing token), to the millisecond.
func HLCTime(ts uint64) time.Time { return time.UnixMilli(int64(ts >> hlcLogicalBits)) }

// clock is a hybrid logical clock. It is safe for concurrent use.
type clock struct {
	last atomic.Uint64
	wall func() time.Time
}

// now returns a timestamp larger than every one before.
func (c *clock) now() uint64 {
	for {
		old := c.last.Load()
		t := uint64(c.wall().UnixMilli()) << hlcLogicalBits
		if t <= old {
			t = old + 1
		}
		if c.last.CompareAndSwap(old, t) {
			return t
		}
	}
}

// observe makes every later timestamp larger than ts.
func (c *clock) observe(ts uint64) {
	for {
		old := c.last.Load()
		if ts <= old || c.last.CompareAndSwap(old, ts) {
			return
		}
	}
}
