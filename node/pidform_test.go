package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// TestPIDForms: one documented text form (<node.id.creation>, parsed back
// by ParsePID) and a snake_case JSON object (it was {"Node","ID",
// "Creation"}); the old JSON form still decodes.
func TestPIDForms(t *testing.T) {
	p := node.PID{Node: "node1@127.0.0.1", ID: 42, Creation: 1}
	if s := p.String(); s != "<node1@127.0.0.1.42.1>" {
		t.Fatalf("text %s", s)
	}
	if q, err := node.ParsePID(p.String()); err != nil || q != p {
		t.Fatalf("parse %v %v", q, err)
	}
	for _, bad := range []string{"", "<x.1>", "<a@b.x.1>", "<nohost.1.2>"} {
		if _, err := node.ParsePID(bad); !errors.Is(err, node.ErrBadArg) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	b, _ := json.Marshal(p)
	if string(b) != `{"node":"node1@127.0.0.1","id":42,"creation":1}` {
		t.Fatalf("json %s", b)
	}
	var old node.PID
	if err := json.Unmarshal([]byte(`{"Node":"node1@127.0.0.1","ID":42,"Creation":1}`), &old); err != nil || old != p {
		t.Fatalf("old json form: %v %v", old, err)
	}
}

// TestRegisteredRPC: the registered rpc lists what Stats.Registered
// counts (it returned [] while the stats said 3: services were counted but
// not listed), and rpc.list describes the built-in functions.
func TestRegisteredRPC(t *testing.T) {
	c := nodetest.New(t, 1, nodetest.Options{})
	n := c.Node(0)
	out, err := n.RPC(context.Background(), n.Self(), node.RPCRegistered, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := json.Unmarshal(out, &names); err != nil || len(names) != n.Stats().Registered || !slices.Contains(names, node.RPCService) {
		t.Fatalf("registered %v (stats %d): %v", names, n.Stats().Registered, err)
	}
	out, err = n.RPC(context.Background(), n.Self(), node.RPCList, nil)
	var infos []node.RPCInfo
	if err != nil || json.Unmarshal(out, &infos) != nil || !slices.ContainsFunc(infos, func(i node.RPCInfo) bool { return i.Name == node.RPCAbs && i.Args == "integer" }) {
		t.Fatalf("rpc.list %s %v", out, err)
	}
}
