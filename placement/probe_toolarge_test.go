package placement_test

import (
	"context"
	"errors"
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
