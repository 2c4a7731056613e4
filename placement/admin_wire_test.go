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
