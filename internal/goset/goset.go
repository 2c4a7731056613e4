// Package goset is the repository's one tracked-goroutine helper: an owner
// starts its goroutines through a Set, and its shutdown stops the Set
// (no goroutine starts after that) and waits for the ones that did start
// (nats-server's startGoRoutine). Every long-lived component (node,
// transport endpoint, membership, cluster, client, pg scope) uses one, so
// that "every goroutine ends on shutdown" has one implementation.
package goset

import "sync"

// Set tracks the goroutines started with Go. The zero value is ready to
// use; a Set must not be copied after first use. Safe for concurrent use.
//
// Shutdown is two steps, so that an owner can stop admission before it
// cancels what its goroutines wait on: Stop refuses new goroutines, Wait
// waits for the started ones to return; Close does both.
type Set struct {
	mu      sync.Mutex // guards the fields below
	running int
	stopped bool
	idle    chan struct{} // closed once stopped and running == 0; made lazily
}

// Go runs f on a new goroutine and reports true, unless Stop (or Close)
// was called: then f is not run and Go reports false. Go may be called
// from a goroutine of the set.
func (s *Set) Go(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.running++
	go func() {
		defer s.finish()
		f()
	}()
	return true
}

func (s *Set) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	if s.stopped && s.running == 0 {
		close(s.idleLocked())
	}
}

// Stop makes every later Go refuse, without waiting. Idempotent.
func (s *Set) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	if s.running == 0 {
		close(s.idleLocked())
	}
}

// Stopped reports whether Stop (or Close) was called.
func (s *Set) Stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// Done returns a channel closed once the set is stopped and every
// goroutine it started has returned: for a wait bounded by a deadline.
func (s *Set) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idleLocked()
}

func (s *Set) idleLocked() chan struct{} {
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	return s.idle
}

// Wait blocks until the set is stopped and every goroutine it started has
// returned. It does not stop the set: without a Stop or Close (by another
// goroutine) it blocks forever.
func (s *Set) Wait() { <-s.Done() }

// Close stops the set (as Stop) and waits for every goroutine it started
// to return. Idempotent; concurrent callers all wait. It must not be
// called from one of the set's goroutines, which would wait for itself.
func (s *Set) Close() {
	s.Stop()
	s.Wait()
}
