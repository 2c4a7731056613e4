package goset_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/placerhq/placer/internal/goset"
)

func TestGoRunsUntilStopped(t *testing.T) {
	var s goset.Set
	ran := make(chan struct{})
	if !s.Go(func() { close(ran) }) {
		t.Fatal("Go refused on a fresh set")
	}
	<-ran
	s.Close()
	if !s.Stopped() {
		t.Fatal("Stopped false after Close")
	}
	if s.Go(func() { t.Error("f ran after Close") }) {
		t.Fatal("Go accepted after Close")
	}
	s.Close() // idempotent
}

// TestCloseWaits: Close returns only after a blocked goroutine returned;
// Stop does not wait.
func TestCloseWaits(t *testing.T) {
	var s goset.Set
	release := make(chan struct{})
	var finished atomic.Bool
	started := make(chan struct{})
	s.Go(func() {
		close(started)
		<-release
		finished.Store(true)
	})
	<-started
	s.Stop() // must not block on the running goroutine
	select {
	case <-s.Done():
		t.Fatal("Done closed while a goroutine runs")
	default:
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	close(release)
	<-closed
	if !finished.Load() {
		t.Fatal("Close returned before the goroutine finished")
	}
	<-s.Done()
}

func TestWaitOnEmptyStoppedSet(t *testing.T) {
	var s goset.Set
	s.Stop()
	s.Wait()
	<-s.Done()
}

// TestGoFromOwnGoroutine: a goroutine of the set may start another; after
// Stop that refuses.
func TestGoFromOwnGoroutine(t *testing.T) {
	var s goset.Set
	inner := make(chan bool, 1)
	s.Go(func() { inner <- s.Go(func() {}) })
	if !<-inner {
		t.Fatal("nested Go refused before Stop")
	}
	gate := make(chan struct{})
	s.Go(func() { <-gate; inner <- s.Go(func() { t.Error("nested f ran after Stop") }) })
	s.Stop()
	close(gate)
	if <-inner {
		t.Fatal("nested Go accepted after Stop")
	}
	s.Close()
}

// TestRaceGoClose races many Go calls against Close: every f whose Go
// returned true runs to its end before Close returns, no f whose Go
// returned false ever runs, and a Go that starts after Close returned is
// refused.
func TestRaceGoClose(t *testing.T) {
	for round := range 200 {
		var s goset.Set
		var accepted, started, finished atomic.Int64
		var callers sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			callers.Add(1)
			go func() {
				defer callers.Done()
				<-start
				for range 20 {
					if s.Go(func() {
						started.Add(1)
						runtime.Gosched()
						finished.Add(1)
					}) {
						accepted.Add(1)
					}
				}
			}()
		}
		close(start)
		runtime.Gosched()
		s.Close()
		atClose := finished.Load()
		callers.Wait()
		if got, want := started.Load(), accepted.Load(); got != want {
			t.Fatalf("round %d: %d goroutines started, %d accepted", round, got, want)
		}
		if got, want := atClose, accepted.Load(); got != want {
			t.Fatalf("round %d: Close returned with %d of %d goroutines finished", round, got, want)
		}
		if s.Go(func() { t.Error("f ran after Close") }) {
			t.Fatalf("round %d: Go accepted after Close", round)
		}
	}
}
