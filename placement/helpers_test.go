package placement

import (
	"fmt"

	"github.com/placerhq/placer/ring"
)

// testCookie is the cookie of the internal tests' nodes.
var testCookie = []byte("placement-test-cookie-0123456789abcdef")

// keyName is the i-th key of the plan scenarios (testdata/plans).
func keyName(i int) string { return fmt.Sprintf("key-%04d", i) }

// findKey returns a key for which want(key) holds.
func findKey(t interface {
	Helper()
	Fatal(...any)
}, want func(key string) bool) string {
	t.Helper()
	for i := range 100000 {
		if k := keyName(i); want(k) {
			return k
		}
	}
	t.Fatal("no such key")
	return ""
}

// buildRing builds a vnode ring of members with vnodes (the "ring/vN"
// strategy).
func buildRing(vnodes int, members []ring.Member) (*ring.Ring, error) {
	cfg := ring.DefaultConfig()
	cfg.VNodes = vnodes
	return ring.New(cfg, members...)
}
