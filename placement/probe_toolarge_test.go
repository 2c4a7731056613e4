package placement_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"

	"github.com/placerhq/placer/node"
)

// TestProbeTooLarge: a payload over the frame limit fails with
// node.ErrTooLarge naming the limit, never with ErrNoConnection (which
// callers retry), on a node and through the placement.Client, whose JSON request
// inflates the payload by 4/3 (docs/placement.md).
func TestProbeTooLarge(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false, placementtest.Options{TCP: true})
	cs := tc.startN(2, func(c *placement.Config) { c.Kinds["blob"] = func() node.Behavior { return blob{} } })
	setView(cs, cs...)
	cs[0].Node().SetAddr(cs[1].Name(), cs[1].Node().Addr())
	cs[1].Node().SetAddr(cs[0].Name(), cs[0].Node().Addr())
	cl := tcpClient(t, tc.Cookie(), cs[0])
	ctx := context.Background()
	remote := remoteKey(t, cs[0], cs[1])
	big := make([]byte, 1<<20+1)
	_, err := cs[0].Call(ctx, kindCounter, remote, big)
	checkTooLarge(t, "cluster call", err)
	checkTooLarge(t, "cluster send", cs[0].Send(ctx, kindCounter, remote, big))
	inflated := make([]byte, 800<<10) // fits a frame raw, not as base64 in JSON
	_, err = cl.Call(ctx, kindCounter, remote, inflated)
	checkTooLarge(t, "client call", err)
	if _, err := cl.Call(ctx, kindCounter, remote, make([]byte, 700<<10)); err != nil {
		t.Fatalf("700 KiB through the client: %v", err)
	}
	// Replies: the owner's reply over the limit, and the agent's reply to
	// the client over it after base64.
	_, err = cs[0].Call(ctx, "blob", remote, []byte(strconv.Itoa(1<<20+1)))
	checkTooLarge(t, "cluster call, reply", err)
	_, err = cl.Call(ctx, "blob", remote, []byte(strconv.Itoa(800<<10)))
	checkTooLarge(t, "client call, reply", err)
	_, err = cl.Call(ctx, "blob", remote, []byte(strconv.Itoa(1<<20+1)))
	checkTooLarge(t, "client call, owner's reply", err)
}

// blob is a keyed kind whose calls return as many bytes as asked for.
type blob struct{ node.Base }

func (blob) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	n, err := strconv.Atoi(string(req))
	return make([]byte, n), err
}

func checkTooLarge(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, node.ErrTooLarge) || errors.Is(err, node.ErrNoConnection) {
		t.Fatalf("%s: %v, want node.ErrTooLarge, not ErrNoConnection", what, err)
	}
	if !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("%s: %v does not name the 1048576-byte limit", what, err)
	}
}

// remoteKey returns a key that owner owns in from's view.
func remoteKey(t *testing.T, from, owner *placement.Cluster) string {
	t.Helper()
	for i := range 1000 {
		if k := "key" + strconv.Itoa(i); from.View().Owner(k) == owner.Name() {
			return k
		}
	}
	t.Fatal("no key owned by " + owner.Name())
	return ""
}

// bigState is a replicated test kind whose state is as many bytes as the
// last "grow N" call asked for; any other call returns its size.
type bigState struct {
	node.Base
	state []byte
}

func (b *bigState) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if n, ok := strings.CutPrefix(string(req), "grow "); ok {
		size, err := strconv.Atoi(n)
		if err != nil {
			return nil, err
		}
		b.state = make([]byte, size)
	}
	return []byte(strconv.Itoa(len(b.state))), nil
}

func (b *bigState) ExportState(*node.Proc) ([]byte, error) { return b.state, nil }

func (b *bigState) ImportState(_ *node.Proc, s []byte) error {
	b.state = append([]byte(nil), s...)
	return nil
}

// TestReplicatedStateTooLarge: a write that grows a replicated key's
// state past the frame limit fails at once with ErrStateTooLarge (also
// node.ErrTooLarge), in sync and async mode, locally and through a remote
// call; the backup keeps the last state that fit, and the key goes on
// serving.
func TestReplicatedStateTooLarge(t *testing.T) {
	t.Parallel()
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync", true: "async"}[async], func(t *testing.T) {
			tc := newTestCluster(t, false, placementtest.Options{TCP: true})
			cs := tc.startN(2, func(c *placement.Config) {
				c.Kinds["big"] = func() node.Behavior { return &bigState{} }
				c.KindSpecs = map[string]placement.KindSpec{"big": {Replicas: 2, Async: async}}
			})
			setView(cs, cs...)
			cs[0].Node().SetAddr(cs[1].Name(), cs[1].Node().Addr())
			cs[1].Node().SetAddr(cs[0].Name(), cs[0].Node().Addr())
			ctx := context.Background()
			local, remote := remoteKey(t, cs[1], cs[0]), remoteKey(t, cs[0], cs[1])
			for _, key := range []string{local, remote} {
				if _, err := cs[0].Call(ctx, "big", key, []byte("grow 1000")); err != nil {
					t.Fatal(err)
				}
				_, err := cs[0].Call(ctx, "big", key, []byte(fmt.Sprintf("grow %d", 1<<20+1)))
				if !errors.Is(err, node.ErrTooLarge) || !strings.Contains(err.Error(), "state too large to replicate") {
					t.Fatalf("%s: growing past the frame limit: %v, want a state-too-large error", key, err)
				}
				if key == local && !errors.Is(err, placement.ErrStateTooLarge) {
					t.Fatalf("local call: %v does not wrap ErrStateTooLarge", err)
				}
				if out, err := cs[0].Call(ctx, "big", key, []byte("size")); err != nil || string(out) != strconv.Itoa(1<<20+1) {
					t.Fatalf("%s still serves: %q %v", key, out, err)
				}
			}
			var failed uint64
			for _, c := range cs {
				failed += c.Stats().ReplFailed
				for _, h := range c.Backups() {
					if h.Kind == "big" && h.Seq == 0 {
						t.Errorf("backup of %s has no state", h.Key)
					}
				}
			}
			if failed < 2 {
				t.Fatalf("ReplFailed = %d, want at least 2", failed)
			}
		})
	}
}
