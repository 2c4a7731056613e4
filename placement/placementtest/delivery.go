package placementtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/placement"
)

// DeliveryReport accounts for every request a Traffic sent.
type DeliveryReport struct {
	Keys int
	// LostStates: keys whose original state (Born) is neither live nor in
	// a copy that lost a conflict: a fresh restart.
	LostStates int
	// LostMessages: requests that returned nil but are in no state, live
	// or lost in a conflict.
	LostMessages int64
	// InLostCopies: requests found only in the state of a copy that lost a
	// conflict (handed to Config.Conflict, not silently gone).
	InLostCopies int64
	// Disordered: messages a key saw out of order per sender.
	Disordered int64
	// Conflicts: conflicts resolved during the run; FalseFailures: members
	// seen failed and back (see Cluster.FalseFailures).
	Conflicts     int
	FalseFailures uint64
	// First names the first key with a problem, and what it was.
	First string
}

// OK reports whether nothing was lost or reordered and no key ran twice.
func (r DeliveryReport) OK() bool {
	return r.LostStates == 0 && r.LostMessages == 0 && r.Disordered == 0 && r.Conflicts == 0
}

// Delivery reads every key of tr through via, waiting (up to timeout in
// all) until its count, plus the counts of its copies that lost a
// conflict, reaches what tr sent it, and accounts for the rest. born (may
// be nil) is each key's original Born (CreateKeys). Call it after
// tr.Halt.
func (c *Cluster) Delivery(ctx context.Context, via *placement.Cluster, kind string, tr *Traffic, born map[string]string, timeout time.Duration) (DeliveryReport, error) {
	var r DeliveryReport
	var mu sync.Mutex
	var lostStates, disordered atomic.Int64
	var lostMsgs, inLost atomic.Int64
	deadline := time.Now().Add(timeout)
	err := forEach(ctx, len(tr.keys), func(i int) error {
		key, want := tr.keys[i], tr.SentTo(i)
		st, lost, err := c.awaitCount(ctx, via, kind, key, want, deadline)
		if err != nil {
			return err
		}
		problem := ""
		if missing := want - st.Count - lostCount(lost); missing > 0 {
			lostMsgs.Add(missing)
			problem = fmt.Sprintf("%d of %d sent missing", missing, want)
		}
		inLost.Add(lostCount(lost))
		disordered.Add(st.Disorder)
		if b := born[key]; born != nil && st.Born != b && !slices.ContainsFunc(lost, func(l CounterState) bool { return l.Born == b }) {
			lostStates.Add(1)
			problem += fmt.Sprintf(" restarted fresh (born %s, now %s)", b, st.Born)
		}
		if problem != "" || st.Disorder > 0 {
			mu.Lock()
			if r.First == "" {
				r.First = fmt.Sprintf("%s: %s (state %+v, lost copies %+v)", key, problem, st, lost)
			}
			mu.Unlock()
		}
		return nil
	})
	r.Keys, r.LostStates, r.LostMessages, r.InLostCopies = len(tr.keys), int(lostStates.Load()), lostMsgs.Load(), inLost.Load()
	r.Disordered, r.Conflicts, r.FalseFailures = disordered.Load(), c.Conflicts(), c.FalseFailures()
	return r, err
}

// awaitCount reads key until its count plus its lost copies' reaches want
// or the deadline passes; it returns the last reading (a read error only
// if no read succeeded).
func (c *Cluster) awaitCount(ctx context.Context, via *placement.Cluster, kind, key string, want int64, deadline time.Time) (CounterState, []CounterState, error) {
	var st CounterState
	var lost []CounterState
	var readErr error
	_ = WaitFor(ctx, time.Until(deadline), func() error {
		var err error
		if st, err = GetCounter(ctx, via, kind, key); err != nil {
			readErr = fmt.Errorf("read %s: %w", key, err)
			return err
		}
		readErr, lost = nil, c.LostStates(key)
		if st.Count+lostCount(lost) < want {
			return errShort
		}
		return nil
	})
	return st, lost, readErr
}

var errShort = errors.New("fewer messages than sent")

func lostCount(lost []CounterState) int64 {
	var n int64
	for _, l := range lost {
		n += l.Count
	}
	return n
}

// CheckDelivered returns an error unless every request tr sent is
// accounted for, in order, with each key's original state, through via.
// It allows what placement documents for R = 1 availability first: after
// a live member was declared failed (FalseFailures) or a partition, a key
// may have run twice, and the losing copy's messages are then in the
// state handed to Config.Conflict, never silently gone. Pass
// allowConflicts for a run with partitions; otherwise a conflict is an
// error unless a false failure explains it.
func (c *Cluster) CheckDelivered(ctx context.Context, via *placement.Cluster, kind string, tr *Traffic, born map[string]string, allowConflicts bool) error {
	if n := tr.CallErrors(); n > 0 {
		return fmt.Errorf("%d calls failed (last: %s)", n, tr.LastError())
	}
	r, err := c.Delivery(ctx, via, kind, tr, born, 10*time.Second)
	switch {
	case err != nil:
		return err
	case r.LostMessages > 0 || r.LostStates > 0 || r.Disordered > 0:
		return fmt.Errorf("%d messages lost, %d states lost, %d out of order, of %d sent to %d keys; first: %s", r.LostMessages, r.LostStates, r.Disordered, tr.Total(), r.Keys, r.First)
	case r.Conflicts > 0 && r.FalseFailures == 0 && !allowConflicts:
		return fmt.Errorf("%d conflicts (keys that ran twice) with no member declared failed", r.Conflicts)
	}
	return nil
}
