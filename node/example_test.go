package node_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// counter is a process kind with typed calls.
type counter struct {
	node.Base
	n int
}

type add struct{ By int }

func (c *counter) HandleCall(p *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	a, err := node.Decode[add](p, req)
	if err != nil {
		return nil, err
	}
	c.n += a.By
	return node.Encode(p, c.n)
}

// Two nodes in one process: spawn a process on the second and call it from
// the first with typed requests and replies.
func Example() {
	ctx := context.Background()
	c, err := nodetest.Start(2, nodetest.Options{Configure: func(_ int, cfg *node.Config) {
		cfg.Kinds = map[string]node.KindFactory{"counter": func() node.Behavior { return &counter{} }}
	}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	n1 := c.Node(0)
	pid, err := n1.SpawnOn(ctx, c.Name(1), "counter", nil, node.SpawnOpts{Name: "hits"})
	if err != nil {
		panic(err)
	}
	for range 2 {
		_, _ = node.CallT[add, int](ctx, n1, pid, add{By: 20})
	}
	total, err := node.CallT[add, int](ctx, n1, node.Named{Name: "hits", Node: c.Name(1)}, add{By: 2})
	fmt.Println(total, err)
	// Output: 42 <nil>
}

// The seed's :rpc.call(:node2@localhost, Kernel, :abs, [-1]).
func ExampleRPCT() {
	c, err := nodetest.Start(2, nodetest.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	x, err := node.RPCT[int, int](context.Background(), c.Node(0), c.Name(1), node.RPCAbs, -1)
	fmt.Println(x, err)
	// Output: 1 <nil>
}

// A monitor reports how a process ended.
func ExampleInbox_Monitor() {
	ctx := context.Background()
	c, err := nodetest.Start(2, nodetest.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ib, _ := c.Node(0).NewInbox()
	pid, _ := c.Node(0).SpawnOn(ctx, c.Name(1), node.KindEcho, nil, node.SpawnOpts{})
	ref := ib.Monitor(pid)
	_ = c.Node(0).Exit(pid, node.Reason{Kind: node.Error, Err: "disk full"})
	m, _ := ib.Receive(ctx)
	d := m.(node.Down)
	fmt.Println(d.Ref == ref, d.Reason)
	// Output: true error: disk full
}

// stringCodec is a codec that only knows strings, to show replacing one.
type stringCodec struct{}

func (stringCodec) Marshal(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte("s:" + s), nil
	}
	return nil, errors.New("strings only")
}

func (stringCodec) Unmarshal(b []byte, v any) error {
	p, ok := v.(*string)
	if !ok || len(b) < 2 || string(b[:2]) != "s:" {
		return errors.New("not a string")
	}
	*p = string(b[2:])
	return nil
}

func TestCustomCodec(t *testing.T) {
	c := cluster(t, 2, nodetest.Options{Configure: func(_ int, cfg *node.Config) { cfg.Codec = stringCodec{} }})
	ib := inbox(t, c.Node(1))
	if err := node.SendT(c.Node(0), ib.Self(), "hi"); err != nil {
		t.Fatal(err)
	}
	m := nodetest.Expect(t, ib, wait, "message", func(node.Msg) bool { return true }).(node.Message)
	if string(m.Payload) != "s:hi" {
		t.Fatalf("payload %q not encoded by the custom codec", m.Payload)
	}
	if s, err := node.Decode[string](ib, m.Payload); err != nil || s != "hi" {
		t.Fatalf("decode %q %v", s, err)
	}
	if err := node.SendT(c.Node(0), ib.Self(), 42); !errors.Is(err, node.ErrBadArg) {
		t.Fatalf("unencodable value: %v", err)
	}
	if _, err := node.Decode[int](ib, m.Payload); !errors.Is(err, node.ErrBadArg) {
		t.Fatalf("undecodable payload: %v", err)
	}
}
