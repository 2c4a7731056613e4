package placementtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/placement"
)

// TrafficOptions shape a Traffic.
type TrafficOptions struct {
	// Senders is the number of sending goroutines, spread over the nodes.
	// Default 4.
	Senders int
	// Rate is the total rate in requests a second. Default 0: each sender
	// pauses 1 ms every 8 requests (a few thousand a second in all: enough
	// to cross every handoff, light enough for Serf's local profile on a
	// loaded 2-core machine).
	Rate int
	// CallEvery makes every CallEvery-th request of a sender an "inc"
	// call (it counts too, and must not fail). Default 0: sends only.
	CallEvery int
}

// Traffic sends "sender seq" messages (and optionally "inc" calls) to
// keys of a kind until Halt, counting per key the requests that returned
// nil. A failed call may or may not have counted, so calls must not fail
// in a test that checks counts (CallErrors).
type Traffic struct {
	keys     []string
	sent     []atomic.Int64
	total    atomic.Int64
	errs     atomic.Int64
	callErrs atomic.Int64
	lastErr  atomic.Value // string
	stop     chan struct{}
	wg       sync.WaitGroup
}

// StartTraffic starts o.Senders goroutines sending to keys of kind through
// the nodes of from (sender s uses from[s % len(from)]).
func StartTraffic(from []*placement.Cluster, kind string, keys []string, o TrafficOptions) *Traffic {
	if o.Senders < 1 {
		o.Senders = 4
	}
	tr := &Traffic{keys: keys, sent: make([]atomic.Int64, len(keys)), stop: make(chan struct{})}
	for s := range o.Senders {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tr.run(from[s%len(from)], kind, s, o)
		}()
	}
	return tr
}

// run is one sender.
func (tr *Traffic) run(p *placement.Cluster, kind string, s int, o TrafficOptions) {
	ctx, start := context.Background(), time.Now()
	interval := time.Duration(0)
	if o.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.Senders) / float64(o.Rate))
	}
	sender := "s" + strconv.Itoa(s)
	for n := 1; ; n++ {
		if tr.halted() {
			return
		}
		tr.pace(n, start, interval)
		i := (n*7919 + s*104729) % len(tr.keys)
		var err error
		if o.CallEvery > 0 && n%o.CallEvery == 0 {
			if _, err = p.Call(ctx, kind, tr.keys[i], []byte("inc")); err != nil {
				tr.callErrs.Add(1)
			}
		} else {
			err = p.Send(ctx, kind, tr.keys[i], []byte(sender+" "+strconv.Itoa(n)))
		}
		tr.count(i, err)
	}
}

func (tr *Traffic) halted() bool {
	select {
	case <-tr.stop:
		return true
	default:
		return false
	}
}

// pace holds a sender to its share of the rate, or (no rate) pauses 1 ms
// every 8 requests.
func (tr *Traffic) pace(n int, start time.Time, interval time.Duration) {
	switch {
	case interval > 0:
		if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
			time.Sleep(d)
		}
	case n%8 == 0:
		time.Sleep(time.Millisecond)
	}
}

func (tr *Traffic) count(i int, err error) {
	if err != nil {
		tr.errs.Add(1)
		tr.lastErr.Store(err.Error())
		time.Sleep(time.Millisecond)
		return
	}
	tr.sent[i].Add(1)
	tr.total.Add(1)
}

// Flowing waits until n more requests than now have succeeded: the
// traffic is under way (in place of sleeping "to let it start").
func (tr *Traffic) Flowing(ctx context.Context, n int64) error {
	want := tr.total.Load() + n
	return WaitFor(ctx, 10*time.Second, func() error {
		if got := tr.total.Load(); got < want {
			return fmt.Errorf("traffic: %d of %d requests succeeded (%d errors, last %v)", got, want, tr.errs.Load(), tr.LastError())
		}
		return nil
	})
}

// Halt stops the senders and waits for them.
func (tr *Traffic) Halt() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
}

// SentTo is how many requests to the i-th key returned nil.
func (tr *Traffic) SentTo(i int) int64 { return tr.sent[i].Load() }

// Total is how many requests returned nil.
func (tr *Traffic) Total() int64 { return tr.total.Load() }

// Errors is how many requests returned an error.
func (tr *Traffic) Errors() int64 { return tr.errs.Load() }

// CallErrors is how many calls among them returned an error.
func (tr *Traffic) CallErrors() int64 { return tr.callErrs.Load() }

// LastError is the last error a request returned, or "".
func (tr *Traffic) LastError() string {
	s, _ := tr.lastErr.Load().(string)
	return s
}
