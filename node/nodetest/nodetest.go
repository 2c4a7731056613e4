// Package nodetest starts clusters of nodes inside one process for tests
// of the node layer and of everything built on it: on the in-memory
// transport (transport/memnet), whose links can be cut, delayed and
// restored, or on the real TCP transport over 127.0.0.1.
//
//	c := nodetest.New(t, 3, nodetest.Options{})   // memnet, closed at cleanup
//	c.ConnectAll(ctx)
//	c.Cut(0, 2)                                   // memnet only
//
// The cluster itself is package inproc, which does not import testing (a
// benchmark binary or a demo uses it directly); this package names its
// types again and adds the helpers that take a testing.TB.
package nodetest

import (
	"context"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/inproc"
)

// The cluster types of package inproc, under the names tests know.
type (
	// Transport selects the wire of a cluster (Memnet or TCP).
	Transport = inproc.Transport
	// Options configure a cluster; see inproc.Options.
	Options = inproc.Options
	// Member is one node of a cluster with the transport it runs on.
	Member = inproc.Member
	// Cluster is a set of nodes in this process.
	Cluster = inproc.Cluster
	// NodeSpec adjusts a node added with Cluster.Add.
	NodeSpec = inproc.NodeSpec
)

const (
	// Memnet is the in-memory transport (default).
	Memnet = inproc.Memnet
	// TCP is the real transport on 127.0.0.1, one listener per node.
	TCP = inproc.TCP
)

// ErrNotMemnet is returned by the fault controls of a TCP cluster.
var ErrNotMemnet = inproc.ErrNotMemnet

// Start starts n nodes (inproc.Start); on error the started ones are closed.
func Start(n int, opts Options) (*Cluster, error) { return inproc.Start(n, opts) }

// New is Start for tests: it fails t on error and closes the cluster (and
// checks the close) at cleanup.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c, err := inproc.Start(n, opts)
	if err != nil {
		t.Fatalf("nodetest: start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("nodetest: close: %v", err)
		}
	})
	return c
}

// WaitFor polls cond until it holds, failing t after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.CheckFor(t, timeout, poll.Cond(cond, func() string { return "waiting for " + what }))
}

// Expect receives from ib until a message satisfies match (others are
// discarded), failing t after timeout.
func Expect(t testing.TB, ib *node.Inbox, timeout time.Duration, what string, match func(node.Msg) bool) node.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		m, err := ib.Receive(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(m) {
			return m
		}
	}
}
