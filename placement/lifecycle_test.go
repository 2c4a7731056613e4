package placement

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
)

type lifecycleKind struct{ node.Base }

// startLone starts a static cluster node named name with the echo kind
// "k" (no view yet), closed at the test's end.
func startLone(t *testing.T, name string) *Cluster {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Static, cfg.ListenAddr = name, testCookie, true, "127.0.0.1:0"
	cfg.Kinds = map[string]node.KindFactory{"k": func() node.Behavior { return lifecycleKind{} }}
	c, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (lifecycleKind) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	return req, nil
}

// TestDeadProcessNeverServes: a key's process that dies before its entry
// activates (starting or moving: its DOWN cannot remove the entry then)
// leaves no entry that routes to a dead PID; the activation removes it
// and the next request starts the key again. Before, such an entry stayed
// active, and every request for the key failed with node.ErrNoProc.
func TestDeadProcessNeverServes(t *testing.T) {
	c := startLone(t, "lc@127.0.0.1")
	if err := c.SetStaticView([]StaticMember{c.StaticSelf()}, true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, st := range []entryState{stateStarting, stateMoving} {
		id := keyID{Kind: "k", Key: "key-" + st.String()}
		pid, err := c.node.Spawn(ctx, id.Kind, []byte(id.Key), node.SpawnOpts{})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := c.reg.getOrCreate(id, st, nil, time.Now())
		if err := c.node.Exit(pid, node.Reason{Kind: node.Killed}); err != nil {
			t.Fatal(err)
		}
		c.adopt(e, pid) // monitors a dead process: its DOWN comes at once
		poll.CheckFor(t, 5*time.Second, poll.Cond(func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.exited
		}, func() string { return "the DOWN of the dead process noted on its " + st.String() + " entry" }))
		c.activate(e, st)
		if got := c.reg.get(id); got == e {
			t.Fatalf("%s: the entry of a dead process is still registered (state %v)", st, got.state)
		}
		if out, err := c.Call(ctx, id.Kind, id.Key, []byte("hi")); err != nil || string(out) != "hi" {
			t.Fatalf("%s: the key after its process died: %q %v", st, out, err)
		}
	}
}

// TestBackupRefusesFork: a backup holding a key's copy refuses an update
// of the same term from another primary that is behind it (a copy started
// fresh beside a live one: acknowledging its writes would lose them when
// the two meet), and accepts the continuation of a handoff (the new owner
// goes on from the old one's sequence number) and newer terms.
func TestBackupRefusesFork(t *testing.T) {
	c := startLone(t, "bk@127.0.0.1")
	upd := func(sender string, term, seq uint64) byte {
		state := []byte{byte(seq)}
		if sender == "d@h" {
			state = []byte("forked")
		}
		return c.onUpdate(sender, replMsg{op: rpUpdate, exported: true, term: term, seq: seq, kind: "k", key: "x", state: state})[0]
	}
	for _, step := range []struct {
		sender    string
		term, seq uint64
		want      byte
	}{
		{"a@h", 1, 5, rsOK},    // the primary's copy
		{"b@h", 1, 2, rsStale}, // a fresh fork, behind: refused
		{"d@h", 1, 5, rsStale}, // a fork at the same number with another state
		{"b@h", 1, 5, rsOK},    // a handoff's new owner re-sends the same version
		{"b@h", 1, 6, rsOK},    // and goes on
		{"a@h", 1, 5, rsStale}, // the old owner, behind now
		{"c@h", 2, 1, rsOK},    // a promotion: a newer term
		{"b@h", 1, 9, rsStale}, // an older term
	} {
		if got := upd(step.sender, step.term, step.seq); got != step.want {
			t.Fatalf("update from %s (term %d, seq %d): status %d, want %d", step.sender, step.term, step.seq, got, step.want)
		}
	}
}

// TestGoneTargetRerouted: a request passed on to a node that cannot be
// reached because it left this node's view (a push's new owner that
// crashed, with the push's buffered requests on their way to it) is routed
// again from here, to the key's owner now, instead of failing with
// node.ErrNoConnection; a target still in the view is not second-guessed
// (its error reaches the caller).
func TestGoneTargetRerouted(t *testing.T) {
	c := startLone(t, "rr@127.0.0.1")
	ghost := StaticMember{Name: "ghost@127.0.0.1", Addr: "127.0.0.1:1"} // nothing listens there
	call := func(to, key string) ([]byte, error) {
		done := make(chan []byte, 1)
		fail := make(chan error, 1)
		req := c.newReq(c.snap.Load(), opCall, "k", key, node.PID{}, []byte("hi"))
		c.sendTo(to, req, time.Now().Add(5*time.Second), func(resp []byte, err error) {
			if err != nil {
				fail <- err
				return
			}
			done <- resp
		})
		select {
		case resp := <-done:
			if len(resp) == 0 || resp[0] != stOK {
				return nil, routeError(resp[0], resp[1:])
			}
			return resp[1:], nil
		case err := <-fail:
			return nil, err
		}
	}
	if err := c.SetStaticView([]StaticMember{c.StaticSelf()}, true); err != nil {
		t.Fatal(err)
	}
	if out, err := call(ghost.Name, "a"); err != nil || string(out) != "hi" {
		t.Fatalf("a call passed on to a node gone from the view: %q %v, want it served here", out, err)
	}
	if err := c.SetStaticView([]StaticMember{c.StaticSelf(), ghost}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := call(ghost.Name, "b"); !errors.Is(err, node.ErrNoConnection) {
		t.Fatalf("a call passed on to an unreachable member: %v, want node.ErrNoConnection", err)
	}
}
