// Package lossy is the event channel of a subscription that must never
// block its publisher (node events, process-group events): when the
// channel is full the oldest event is discarded, and the next event
// delivered carries how many were lost before it.
package lossy

import "sync"

// Chan is one subscription's channel of events of type T, whose Dropped
// field (reached through the dropped function given to New) reports the
// losses. Safe for concurrent use.
type Chan[T any] struct {
	mu      sync.Mutex // guards sends on ch, lost and closed
	ch      chan T
	dropped func(*T) *uint64
	lost    uint64
	closed  bool
}

// New returns an open Chan of capacity size; dropped returns the address
// of an event's Dropped count.
func New[T any](size int, dropped func(*T) *uint64) *Chan[T] {
	return &Chan[T]{ch: make(chan T, size), dropped: dropped}
}

// C is the channel the subscriber receives from.
func (c *Chan[T]) C() <-chan T { return c.ch }

// Offer delivers ev without blocking, discarding the oldest event if the
// channel is full; ev's Dropped is set to the events lost since the last
// delivery (a discarded event's own count is carried over). A no-op once
// closed.
func (c *Chan[T]) Offer(ev T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for {
		*c.dropped(&ev) = c.lost
		select {
		case c.ch <- ev:
			c.lost = 0
			return
		default:
		}
		select {
		case old := <-c.ch:
			c.lost += 1 + *c.dropped(&old)
		default:
		}
	}
}

// Close closes the channel. Idempotent.
func (c *Chan[T]) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.ch)
	}
}
