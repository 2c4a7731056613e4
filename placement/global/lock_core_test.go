package global

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/node"
)

// lockModel is the naive lock: a holder with a count, a FIFO of
// requesters, a token counter.
type lockModel struct {
	holder node.PID
	count  int
	queue  []node.PID
}

// The lock core against the model: mutual exclusion, counting, FIFO
// grants, tokens that only grow, releases by death.
func TestLockCoreModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var c lockCore
		var m lockModel
		var clock, last uint64
		next := func() uint64 { clock++; return clock }
		now := time.Unix(1000, 0)
		granted := func(out []answer) {
			for _, a := range out {
				if a.status == stOK {
					if a.lock.Token <= last {
						t.Fatalf("token %d after %d", a.lock.Token, last)
					}
					last = a.lock.Token
				}
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"acquire": func(t *rapid.T) {
				p := rapid.SampledFrom(testPIDs).Draw(t, "pid")
				wait := rapid.SampledFrom([]time.Duration{0, -1, time.Second}).Draw(t, "wait")
				res, out := c.acquire(waiting{requester: p, reqID: next(), since: now}, wait, next)
				granted(out)
				m.acquire(t, p, wait, res)
				if res == acqGranted {
					last = max(last, c.token)
				}
			},
			"release": func(t *rapid.T) {
				p := rapid.SampledFrom(testPIDs).Draw(t, "pid")
				ok, out := c.release(p, now, next)
				granted(out)
				if ok != (m.holder == p) {
					t.Fatalf("release by %v: %v, model holder %v", p, ok, m.holder)
				}
				m.release(p)
			},
			"down": func(t *rapid.T) {
				p := rapid.SampledFrom(testPIDs).Draw(t, "pid")
				granted(c.down(p, now, next))
				m.down(p)
			},
			"": func(t *rapid.T) {
				if c.holder != m.holder || c.count != m.count {
					t.Fatalf("holder %v×%d, model %v×%d", c.holder, c.count, m.holder, m.count)
				}
				var q []node.PID
				for _, w := range c.waiters {
					q = append(q, w.requester)
				}
				if !slices.Equal(q, m.queue) {
					t.Fatalf("queue %v, model %v", q, m.queue)
				}
			},
		})
	})
}

func (m *lockModel) acquire(t *rapid.T, p node.PID, wait time.Duration, res acquireResult) {
	want := acqBusy
	switch {
	case m.holder == p:
		m.count++
		want = acqGranted
	case m.holder.IsZero() && len(m.queue) == 0:
		m.holder, m.count, want = p, 1, acqGranted
	case wait != 0:
		if !slices.Contains(m.queue, p) {
			m.queue = append(m.queue, p)
		}
		want = acqQueued
	}
	if res != want {
		t.Fatalf("acquire by %v: %v, model %v", p, res, want)
	}
}

func (m *lockModel) release(p node.PID) {
	if m.holder != p {
		return
	}
	if m.count--; m.count == 0 {
		m.grantNext()
	}
}

func (m *lockModel) grantNext() {
	m.holder = node.PID{}
	if len(m.queue) > 0 {
		m.holder, m.count, m.queue = m.queue[0], 1, m.queue[1:]
	}
}

func (m *lockModel) down(p node.PID) {
	m.queue = slices.DeleteFunc(m.queue, func(q node.PID) bool { return q == p })
	if m.holder == p {
		m.count = 0
		m.grantNext()
	}
}

// A claim keeps the larger token and learns every token.
func TestLockCoreClaim(t *testing.T) {
	var c lockCore
	if adopted, _, _ := c.claim(testPIDs[0], 10, 1); !adopted || c.holder != testPIDs[0] {
		t.Fatalf("free lock did not adopt: %+v", c)
	}
	if _, loser, lt := c.claim(testPIDs[1], 5, 1); loser != testPIDs[1] || lt != 5 || c.holder != testPIDs[0] {
		t.Fatalf("smaller token won: %+v", c)
	}
	if adopted, loser, lt := c.claim(testPIDs[2], 20, 2); !adopted || loser != testPIDs[0] || lt != 10 || c.count != 2 {
		t.Fatalf("larger token lost: %+v", c)
	}
	if c.grant(waiting{requester: testPIDs[1]}, func() uint64 { return 3 }); c.token != 21 {
		t.Fatalf("token %d after learning 20", c.token)
	}
}
