package membership

import (
	"testing"
	"time"

	"github.com/hashicorp/serf/serf"
)

// dampRun feeds a tracker through a damper, as the publish loop does, and
// returns the kinds of the changes reported at each step.
type dampRun struct {
	tr *tracker
	d  *damper
	t0 time.Time
}

func newDampRun(window, hold time.Duration) *dampRun {
	return &dampRun{tr: newTracker(), d: newDamper(window, hold), t0: time.Date(2026, 12, 3, 22, 48, 41, 0, time.UTC)}
}

func (r *dampRun) at(after time.Duration, m Member) []ChangeKind {
	now := r.t0.Add(after)
	last, known := r.tr.known[m.Name]
	var changes []Change
	if c, ok := r.tr.observe(r.d.filter(now, m, last, known, "self")); ok {
		changes = append(changes, c)
	}
	r.d.observed(now, changes)
	var kinds []ChangeKind
	for _, c := range changes {
		kinds = append(kinds, c.Kind)
	}
	return kinds
}

func kindsEqual(a, b []ChangeKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDamper(t *testing.T) {
	const window, hold = time.Second, 500 * time.Millisecond
	ms := time.Millisecond
	type step struct {
		after time.Duration
		m     Member
		want  []ChangeKind
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a restart's stale news, refuted: nothing reported", []step{
			{0, mem("b", StatusAlive), []ChangeKind{ChangeJoin}},
			{36 * ms, mem("b", StatusFailed), nil},
			{60 * ms, mem("b", StatusFailed), nil},
			{97 * ms, mem("b", StatusAlive), nil},
			{2 * time.Second, mem("b", StatusFailed), []ChangeKind{ChangeFailed}}, // later: reported at once
		}},
		{"stale news as failed, then left", []step{
			{0, mem("b", StatusAlive), []ChangeKind{ChangeJoin}},
			{10 * ms, mem("b", StatusFailed), nil},
			{10 * ms, mem("b", StatusLeft), nil},
			{40 * ms, mem("b", StatusAlive), nil},
		}},
		{"a graceful leave right after a join: reported at once", []step{
			{0, mem("b", StatusAlive), []ChangeKind{ChangeJoin}},
			{10 * ms, mem("b", StatusLeaving), []ChangeKind{ChangeLeave}},
			{20 * ms, mem("b", StatusLeft), nil},
			{30 * ms, mem("b", StatusAlive), []ChangeKind{ChangeJoin}},
		}},
		{"a member that really fails right after it joined: reported hold later", []step{
			{0, mem("b", StatusAlive), []ChangeKind{ChangeJoin}},
			{100 * ms, mem("b", StatusFailed), nil},
			{599 * ms, mem("b", StatusFailed), nil},
			{600 * ms, mem("b", StatusFailed), []ChangeKind{ChangeFailed}},
			{700 * ms, mem("b", StatusAlive), []ChangeKind{ChangeRejoin}},
		}},
		{"after a rejoin too", []step{
			{0, mem("b", StatusFailed), nil},
			{0, mem("b", StatusAlive), []ChangeKind{ChangeRejoin}},
			{5 * ms, mem("b", StatusFailed), nil},
			{20 * ms, mem("b", StatusAlive), nil},
		}},
		{"outside the window: reported at once", []step{
			{0, mem("b", StatusAlive), []ChangeKind{ChangeJoin}},
			{window + ms, mem("b", StatusFailed), []ChangeKind{ChangeFailed}},
		}},
		{"self is never held", []step{
			{0, mem("self", StatusAlive), []ChangeKind{ChangeJoin}},
			{ms, mem("self", StatusLeaving), []ChangeKind{ChangeLeave}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newDampRun(window, hold)
			for i, s := range tc.steps {
				if got := r.at(s.after, s.m); !kindsEqual(got, s.want) {
					t.Fatalf("step %d (%v, %s %v): changes %v, want %v", i, s.after, s.m.Name, s.m.Status, got, s.want)
				}
			}
			if n := len(r.d.held); n != 0 && tc.name != "a member that really fails right after it joined: reported hold later" {
				t.Fatalf("%d reports still held", n)
			}
		})
	}
}

func TestDamperOff(t *testing.T) {
	r := newDampRun(time.Second, 0)
	r.at(0, mem("b", StatusAlive))
	if got := r.at(time.Millisecond, mem("b", StatusFailed)); !kindsEqual(got, []ChangeKind{ChangeFailed}) {
		t.Fatalf("hold 0: %v, want the failure at once", got)
	}
}

func TestDamperNextDue(t *testing.T) {
	r := newDampRun(time.Second, 500*time.Millisecond)
	if !r.d.nextDue().IsZero() {
		t.Fatal("due with nothing held")
	}
	r.at(0, mem("b", StatusAlive))
	r.at(0, mem("c", StatusAlive))
	r.at(100*time.Millisecond, mem("c", StatusFailed))
	r.at(50*time.Millisecond, mem("b", StatusFailed))
	if got, want := r.d.nextDue(), r.t0.Add(550*time.Millisecond); !got.Equal(want) {
		t.Fatalf("next due %v, want %v", got.Sub(r.t0), want.Sub(r.t0))
	}
}

// The publish loop runs reports through the damper: Serf reporting a
// member that joined a moment ago failed (as a restart's stale news does)
// publishes nothing while Serf lists it alive again; outside the window the
// same report is published.
func TestStaleFailureNotPublished(t *testing.T) {
	t.Parallel()
	const window = 3 * time.Second // longer than the profile's: the test's steps fit in it
	c := newCluster(t, false)
	start := time.Now() // before d1 joined
	cfg := c.config("d0@127.0.0.1")
	cfg.dampWindow = window
	ms := []*Membership{c.start(cfg), c.start(c.config("d1@127.0.0.1"))}
	allSeeAlive(t, convergeTimeout, ms, 2)
	joined := time.Now() // after it joined
	a, b := ms[0], ms[1].Name()
	views, cancel := a.Subscribe()
	defer cancel()
	<-views // the baseline
	staleFailure := func() {
		for _, sm := range a.serf.Members() {
			if sm.Name == b {
				sm.Status = serf.StatusFailed
				a.enqueue(serf.MemberEvent{Type: serf.EventMemberFailed, Members: []serf.Member{sm}})
			}
		}
	}
	if time.Since(start) < window { // d0 saw d1 join less than window ago
		staleFailure()
		waitFor(t, convergeTimeout, func() bool { return a.Stats().Damped == 1 }, "the report was not held")
		select {
		case v := <-views:
			if countKind(v.Changes, ChangeFailed) > 0 {
				t.Fatalf("published %+v", v.Changes)
			}
		default:
		}
	} else {
		t.Log("joined too long ago for the first half")
	}
	waitFor(t, convergeTimeout, func() bool { return time.Since(joined) > window }, "the window to end")
	staleFailure()
	cs := collectChanges(t, views, func(cs []Change) bool { return countKind(cs, ChangeFailed) > 0 })
	if c := lastOf(cs, ChangeFailed); c.Member.Name != b {
		t.Fatalf("failed change %+v", c)
	}
}
