package placement_test

import (
	"context"
	"errors"
	"testing"

	"github.com/placerhq/placer/placement"
)

// TestProbeBinaryKeysRefused: keys that are not valid UTF-8 used to be
// turned into U+FFFD by the placement.Client's JSON, so "\xff", "\xfe" and "\ufffd"
// reached one process. Now they are refused with placement.ErrBadKey on every path
// (placement.Client and placement.Cluster), and U+FFFD itself stays a key of its own.
func TestProbeBinaryKeysRefused(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(2, nil)
	setView(cs, cs...)
	cl := newMemClient(t, tc, tc.Cookie(), cs[0])
	ctx := context.Background()
	for _, key := range []string{"\xff", "\xfe", "bin-\x80", "bin-\x81", "a\xc3"} {
		if _, err := cl.Call(ctx, kindCounter, key, []byte("inc")); !errors.Is(err, placement.ErrBadKey) {
			t.Errorf("client call %q: %v, want placement.ErrBadKey", key, err)
		}
		if err := cl.Send(ctx, kindCounter, key, nil); !errors.Is(err, placement.ErrBadKey) {
			t.Errorf("client send %q: %v, want placement.ErrBadKey", key, err)
		}
		if _, err := cl.Lookup(ctx, key, 1); !errors.Is(err, placement.ErrBadKey) {
			t.Errorf("client lookup %q: %v, want placement.ErrBadKey", key, err)
		}
		if _, err := cs[0].Call(ctx, kindCounter, key, []byte("inc")); !errors.Is(err, placement.ErrBadKey) {
			t.Errorf("cluster call %q: %v, want placement.ErrBadKey", key, err)
		}
	}
	if _, err := cl.Call(ctx, "kind-\xff", "k", nil); !errors.Is(err, placement.ErrBadKey) {
		t.Errorf("invalid UTF-8 kind: %v, want placement.ErrBadKey", err)
	}
	for i, key := range []string{"\ufffd", "\ufffd\ufffd", "bin-é"} {
		out, err := cl.Call(ctx, kindCounter, key, []byte("inc"))
		if err != nil || string(out) != "1" {
			t.Fatalf("key %q (call %d): %q %v, want a fresh process answering 1", key, i, out, err)
		}
	}
}

// TestLookupRefusesInvalidUTF8: Lookup (and so /api/lookup and placer
// lookup) applies the same key rule as routing.
func TestLookupRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	tc := newTestCluster(t, false)
	cs := tc.startN(1, nil)
	setView(cs, cs...)
	if _, err := cs[0].Lookup("\xff", 1); !errors.Is(err, placement.ErrBadKey) {
		t.Fatalf("lookup of invalid UTF-8: %v, want ErrBadKey", err)
	}
	if l, err := cs[0].Lookup("\ufffd", 1); err != nil || l.Owner != cs[0].Name() {
		t.Fatalf("lookup of U+FFFD: %+v %v", l, err)
	}
}
