package placement

import (
	"errors"
	"fmt"
	"testing"

	"github.com/placerhq/placer/node"
)

// TestWireErrorRoundTrip: every sentinel an admin reply can carry comes
// back matching itself (and only the sentinels it matched), a
// *NotOwnerError keeps its owner, and an unknown code decodes as
// node.ErrHandler.
func TestWireErrorRoundTrip(t *testing.T) {
	for _, s := range wireSentinels {
		err := fromWire("agent@h", toWire(fmt.Errorf("ctx: %w", s.err)))
		if !errors.Is(err, s.err) {
			t.Fatalf("code %d: %v does not match %v", s.code, err, s.err)
		}
		for _, other := range wireSentinels {
			if other.err != s.err && errors.Is(err, other.err) && !errors.Is(s.err, other.err) {
				t.Fatalf("code %d also matches %v", s.code, other.err)
			}
		}
	}
	err := fromWire("a@h", toWire(fmt.Errorf("route: %w", &NotOwnerError{Owner: "n2@h"})))
	var no *NotOwnerError
	if !errors.As(err, &no) || no.Owner != "n2@h" || !errors.Is(err, ErrNotOwner) {
		t.Fatalf("not-owner lost: %v", err)
	}
	var re *RemoteError
	if !errors.As(err, &re) || re.Node != "a@h" {
		t.Fatalf("no RemoteError: %#v", err)
	}
	two := fromWire("a@h", toWire(wrapNode(node.ErrShutdown)))
	if !errors.Is(two, ErrShutdown) || !errors.Is(two, node.ErrShutdown) {
		t.Fatalf("both shutdown sentinels expected: %v", two)
	}
	unknown := fromWire("a@h", &wireError{Codes: []uint16{999}, Text: "future"})
	if !errors.Is(unknown, node.ErrHandler) || unknown.Error() != "future (at a@h)" {
		t.Fatalf("unknown code: %v", unknown)
	}
	if toWire(nil) != nil {
		t.Fatal("nil error must encode as nil")
	}
}

// TestAdminRPCsListed: adminRPCs (what Client.RPC unwraps) names exactly
// the admin rpc functions a member registers.
func TestAdminRPCsListed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Static, cfg.ListenAddr = "adm@127.0.0.1", testCookie, true, "127.0.0.1:0"
	c, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fns := c.adminFns()
	for name := range fns {
		if !adminRPCs[name] {
			t.Errorf("admin rpc %s is missing from adminRPCs: Client.RPC would not unwrap its reply", name)
		}
	}
	for name := range adminRPCs {
		if fns[name] == nil {
			t.Errorf("adminRPCs lists %s, which is not an admin rpc", name)
		}
	}
}
