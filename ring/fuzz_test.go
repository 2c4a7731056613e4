package ring

import (
	"testing"
)

// FuzzVnodeHasher checks the specialised vnode hash against xxhash.Sum64 of
// the documented vnode key, for any name and index.
func FuzzVnodeHasher(f *testing.F) {
	f.Add("node-0001", uint32(0))                   // 9-byte name: 8-byte word + 1 byte
	f.Add("", uint32(7))                            // empty name (rejected by New, still hashable)
	f.Add("abcdefgh", uint32(1<<31))                // exactly one word
	f.Add("a-name-of-26-bytes-long-xx", ^uint32(0)) // the longest short path (31 bytes)
	f.Add("a-name-of-27-bytes-long-xxx", uint32(3)) // the first long path (32 bytes)
	f.Fuzz(func(t *testing.T, name string, idx uint32) {
		h := newVnodeHasher(name)
		if got, want := h.sum(idx), Hash(VNodeKey(name, idx)); got != want {
			t.Fatalf("vnode hash of %q/%d = %x, want %x", name, idx, got, want)
		}
	})
}

// FuzzRingOps applies a fuzzed sequence of changes to a small ring with
// forced collisions and checks every lookup against the model.
func FuzzRingOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 1, 1, 0, 5}, uint64(12345))
	f.Add([]byte{7, 7, 7, 7, 0, 0, 0}, uint64(0))
	f.Fuzz(func(t *testing.T, ops []byte, h uint64) {
		cfg := Config{VNodes: 8, posBits: 6}
		r := mustNew(t, cfg)
		for i, op := range ops {
			name := string(rune('a' + op%6))
			var err error
			var next *Ring
			switch {
			case !r.Has(name):
				next, err = r.Add(Member{Name: name, Weight: 1 + int(op>>6)})
			case op&8 != 0:
				next, err = r.SetWeight(name, 1+int(op>>5)%4)
			default:
				next, err = r.Remove(name)
			}
			if err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
			r = next
		}
		m := newModel(cfg, r.Members())
		for _, x := range []uint64{h, h + 1<<58, h - 1<<60, 0} {
			if got, want := r.LocateHash(x), m.locate(x); got != want {
				t.Fatalf("LocateHash(%x) = %q, model %q", x, got, want)
			}
		}
	})
}
