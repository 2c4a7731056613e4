package placement

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/placerhq/placer/internal/fuzzseed"
	"github.com/placerhq/placer/node"
)

// keySeeds are the seeds of FuzzKey: keys that must pass, and the
// invalid UTF-8 the probe used.
func keySeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-ascii", Comment: "a plain key: accepted, round-trips", Data: []byte("user-42")},
		{Name: "01-replacement-char", Comment: "U+FFFD itself is valid UTF-8: accepted, a key of its own", Data: []byte("\uFFFD")},
		{Name: "02-lone-ff", Comment: "0xFF never occurs in UTF-8: refused (JSON turned it into U+FFFD)", Data: []byte{0xff}},
		{Name: "03-lone-fe", Comment: "0xFE never occurs in UTF-8: refused", Data: []byte{0xfe}},
		{Name: "04-continuation", Comment: "a stray continuation byte after a prefix (the Go Client's bin-\\x80)", Data: []byte("bin-\x80")},
		{Name: "05-truncated", Comment: "a two-byte sequence cut after its first byte", Data: []byte("a\xc3")},
		{Name: "06-surrogate", Comment: "an encoded UTF-16 surrogate half: invalid in UTF-8", Data: []byte{0xed, 0xa0, 0x80}},
		{Name: "07-overlong", Comment: "an overlong encoding of '/'", Data: []byte{0xc0, 0xaf}},
		{Name: "08-empty", Comment: "the empty key: refused (too short)", Data: []byte{}},
		{Name: "09-multibyte", Comment: "valid multi-byte text and an escaped-in-JSON U+2028", Data: []byte("ключ\u2028鍵")},
	}
}

// FuzzKey: a key is accepted exactly when it is 1..MaxKeyLen bytes of
// valid UTF-8, anything else is ErrBadKey, and an accepted key crosses
// the Client's JSON request and the routed request unchanged (so two
// distinct accepted keys never meet in one process). Seeds:
// testdata/fuzz/FuzzKey.
func FuzzKey(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzKey")
	f.Fuzz(func(t *testing.T, b []byte) {
		key := string(b)
		err := checkKey("key", key)
		valid := len(b) >= 1 && len(b) <= MaxKeyLen && utf8.Valid(b)
		if valid != (err == nil) || (err != nil && !errors.Is(err, ErrBadKey)) {
			t.Fatalf("checkKey(%q) = %v, valid = %v", key, err, valid)
		}
		decodable := len(b) <= MaxKeyLen && utf8.Valid(b) // the decoder leaves emptiness to checkKey
		r, derr := decodeRouteReq((&routeReq{op: opCall, kind: "k", key: key}).encode())
		if decodable != (derr == nil) || (derr == nil && r.key != key) {
			t.Fatalf("routed request with key %q decoded as %q, %v", key, r.key, derr)
		}
		if !valid {
			return
		}
		js, err := node.JSONCodec{}.Marshal(adminReq{Kind: "k", Key: key})
		var back adminReq
		if err != nil || (node.JSONCodec{}).Unmarshal(js, &back) != nil || back.Key != key {
			t.Fatalf("key %q came back from JSON as %q (%v)", key, back.Key, err)
		}
	})
}
