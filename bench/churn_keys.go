package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/placerhq/placer/ring"
)

// StateBytes is the distribution of the state each key would hand off when
// it moves: a constant, or drawn per key (deterministically, by key index).
type StateBytes struct {
	Kind     string  // "" (none), "const", "exp" or "uniform"
	A, B     float64 // const: A; exp: mean A; uniform: A..B
	Original string  // as given
}

// ParseStateBytes reads --state-bytes: "B" (every key B bytes), "exp:MEAN"
// (exponential with that mean) or "uniform:MIN-MAX"; "" or "0" for none.
func ParseStateBytes(s string) (StateBytes, error) {
	bad := func() (StateBytes, error) {
		return StateBytes{}, fmt.Errorf("%w: --state-bytes %q: want B, exp:MEAN or uniform:MIN-MAX (bytes, ≥ 0)", ErrBadConfig, s)
	}
	kind, arg, found := strings.Cut(s, ":")
	if !found {
		kind, arg = "const", s
	}
	if s == "" || s == "0" {
		return StateBytes{}, nil
	}
	lo, hi, ranged := strings.Cut(arg, "-")
	a, err := strconv.ParseFloat(lo, 64)
	if err != nil || a < 0 || math.IsInf(a, 0) {
		return bad()
	}
	d := StateBytes{Kind: kind, A: a, Original: s}
	switch {
	case kind == "uniform" && ranged:
		if d.B, err = strconv.ParseFloat(hi, 64); err != nil || d.B < a || math.IsInf(d.B, 0) {
			return bad()
		}
	case (kind == "const" || kind == "exp") && !ranged:
	default:
		return bad()
	}
	return d, nil
}

// keySet is the benchmark's keys, "key-0", "key-1", ..., as their hashes
// in increasing order, with each key's state bytes.
type keySet struct {
	hashes []uint64 // ascending
	bytes  []uint32 // per key, in hash order; nil when constant
	cbytes int64    // bytes of every key when bytes is nil
	prefix []int64  // prefix[i] = bytes of keys 0..i-1 (nil when constant)
}

func newKeySet(k int, sb StateBytes) *keySet {
	ks := &keySet{hashes: make([]uint64, k)}
	buf := make([]byte, 0, 24)
	for i := range ks.hashes {
		buf = strconv.AppendInt(append(buf[:0], "key-"...), int64(i), 10)
		ks.hashes[i] = ring.Hash(buf)
	}
	slices.Sort(ks.hashes)
	switch sb.Kind {
	case "":
	case "const":
		ks.cbytes = int64(sb.A)
	default:
		ks.drawBytes(sb)
	}
	return ks
}

func (ks *keySet) drawBytes(sb StateBytes) {
	rng := rand.New(rand.NewPCG(0x7374617465, uint64(len(ks.hashes))))
	ks.bytes = make([]uint32, len(ks.hashes))
	ks.prefix = make([]int64, len(ks.hashes)+1)
	for i := range ks.bytes {
		x := sb.A * rng.ExpFloat64()
		if sb.Kind == "uniform" {
			x = sb.A + (sb.B-sb.A)*rng.Float64()
		}
		ks.bytes[i] = uint32(min(math.Round(x), math.MaxUint32))
		ks.prefix[i+1] = ks.prefix[i] + int64(ks.bytes[i])
	}
}

// keyBytes returns the state bytes of key i.
func (ks *keySet) keyBytes(i int) int64 {
	if ks.bytes == nil {
		return ks.cbytes
	}
	return int64(ks.bytes[i])
}

// span returns the indexes [i, j) of the keys whose hash lies in [lo, hi].
func (ks *keySet) span(lo, hi uint64) (int, int) {
	i, _ := slices.BinarySearch(ks.hashes, lo)
	j := i
	if hi == math.MaxUint64 {
		j = len(ks.hashes)
	} else {
		j, _ = slices.BinarySearch(ks.hashes[i:], hi+1)
		j += i
	}
	return i, j
}

// count returns the keys and state bytes whose hash lies in [lo, hi].
func (ks *keySet) count(lo, hi uint64) (keys, bytes int64) {
	i, j := ks.span(lo, hi)
	return int64(j - i), ks.rangeBytes(i, j)
}

func (ks *keySet) rangeBytes(i, j int) int64 {
	if ks.prefix == nil {
		return int64(j-i) * ks.cbytes
	}
	return ks.prefix[j] - ks.prefix[i]
}

// groups returns the keys and bytes per residue h mod m (for schemes that
// place a key by its hash mod a table size).
func (ks *keySet) groups(m int) (keys, bytes []int64) {
	keys, bytes = make([]int64, m), make([]int64, m)
	for i, h := range ks.hashes {
		g := h % uint64(m)
		keys[g]++
		bytes[g] += ks.keyBytes(i)
	}
	return keys, bytes
}

// keyName returns the bytes of key i of the original numbering ("key-i").
func keyName(buf []byte, i int) []byte {
	return strconv.AppendInt(append(buf[:0], "key-"...), int64(i), 10)
}
