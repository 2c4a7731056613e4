package schemes

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/placerhq/placer/ring"
)

func members(n int) []ring.Member {
	ms := make([]ring.Member, n)
	for i := range ms {
		ms[i] = ring.Member{Name: fmt.Sprintf("node-%04d", i), Weight: 1}
	}
	return ms
}

// builders builds every scheme of the package from a member list.
func builders() map[string]func(ms ...ring.Member) (ring.Strategy, error) {
	return map[string]func(ms ...ring.Member) (ring.Strategy, error){
		"modulo":     func(ms ...ring.Member) (ring.Strategy, error) { return NewModulo(ms...) },
		"consistent": func(ms ...ring.Member) (ring.Strategy, error) { return NewConsistent(DefaultConsistentConfig(), ms...) },
		"jump":       func(ms ...ring.Member) (ring.Strategy, error) { return NewJump(ms...) },
		"rendezvous": func(ms ...ring.Member) (ring.Strategy, error) { return NewRendezvous(ms...) },
		"maglev":     func(ms ...ring.Member) (ring.Strategy, error) { return NewMaglev(MaglevConfig{TableSize: 1031}, ms...) },
		"multiprobe": func(ms ...ring.Member) (ring.Strategy, error) {
			return NewMultiProbe(DefaultMultiProbeConfig(), ms...)
		},
	}
}

// Every scheme keeps the ring.Strategy contract.
func TestStrategyConformance(t *testing.T) {
	for name, build := range builders() {
		t.Run(name, func(t *testing.T) {
			ms := members(40)
			s, err := build(ms...)
			if err != nil {
				t.Fatal(err)
			}
			checkStrategy(t, name, s, ms)
			rev := slices.Clone(ms)
			slices.Reverse(rev)
			if s2, _ := build(rev...); s2.Checksum() != s.Checksum() {
				t.Fatal("checksum depends on the order of the member list")
			}
			s3, err := s.With(ring.AddChange(ring.Member{Name: "zz", Weight: 1}))
			if err != nil {
				t.Fatal(err)
			}
			if !s3.Has("zz") || s.Has("zz") || s3.Len() != 41 || s3.Checksum() == s.Checksum() {
				t.Fatal("With(add) must return a new snapshot with the member and leave the old one")
			}
			s4, err := s3.With(ring.RemoveChange("zz"))
			if err != nil || s4.Checksum() != s.Checksum() {
				t.Fatalf("add then remove of the last member must restore the checksum: %v", err)
			}
			if _, err := s.With(ring.RemoveChange("nobody")); !errors.Is(err, ring.ErrUnknownMember) {
				t.Fatalf("removing a non-member: %v", err)
			}
			empty, err := build()
			if err != nil || empty.LocateString("k") != "" || empty.LocateN([]byte("k"), 2) != nil {
				t.Fatalf("an empty %s must locate nothing (%v)", name, err)
			}
		})
	}
}

func checkStrategy(t *testing.T, name string, s ring.Strategy, ms []ring.Member) {
	t.Helper()
	if s.Name() != name || s.Len() != len(ms) || !slices.Equal(s.Members(), ms) {
		t.Fatalf("Name %q Len %d Members %v", s.Name(), s.Len(), s.Members())
	}
	var dst []string
	for i := range 300 {
		key := fmt.Sprint("key/", i)
		owner := s.LocateString(key)
		if owner == "" || !s.Has(owner) || s.Locate([]byte(key)) != owner || s.LocateHash(ring.HashString(key)) != owner {
			t.Fatalf("%s: Locate, LocateString and LocateHash disagree or name a non-member: %q", key, owner)
		}
		n := []int{1, 3, 70}[i%3]
		got := s.LocateN([]byte(key), n)
		dst = s.AppendLocateN(dst[:0], []byte(key), n)
		if !slices.Equal(got, dst) || len(got) != min(n, len(ms)) || got[0] != owner {
			t.Fatalf("%s: LocateN(%d) = %v (owner %q)", key, n, got, owner)
		}
		seen := map[string]bool{}
		for _, g := range got {
			if seen[g] {
				t.Fatalf("%s: LocateN repeats %q", key, g)
			}
			seen[g] = true
		}
	}
}

func TestModulo(t *testing.T) {
	m, err := NewModulo(ring.Member{Name: "b", Weight: 1}, ring.Member{Name: "a", Weight: 2}, ring.Member{Name: "c", Weight: 1})
	if err != nil {
		t.Fatal(err)
	}
	table := []string{"a", "a", "b", "c"}
	if !slices.Equal(m.Table(), table) {
		t.Fatalf("table %v", m.Table())
	}
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		if got, want := m.LocateString(k), table[ring.HashString(k)%4]; got != want {
			t.Fatalf("%s: %s want %s", k, got, want)
		}
	}
	shares, err := Shares(m)
	if err != nil || shares["a"] != 0.5 || shares["c"] != 0.25 {
		t.Fatalf("shares %v %v", shares, err)
	}
}

// The consistent adapter turns the library's panics into errors.
func TestConsistentNoPanicEscapes(t *testing.T) {
	cfg := DefaultConsistentConfig()
	cfg.PartitionCount = 7
	if _, err := NewConsistent(cfg, members(10)...); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("NewConsistent with 7 partitions and 10 members: %v, want ErrNoRoom", err)
	}
	c, err := NewConsistent(DefaultConsistentConfig(), members(2)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.With(ring.AddChange(ring.Member{Name: "c", Weight: 2})); !errors.Is(err, ring.ErrBadWeight) {
		t.Fatalf("weight 2: %v", err)
	}
	if _, err := NewConsistent(ConsistentConfig{PartitionCount: 7919, ReplicationFactor: 20, Load: 1}); !errors.Is(err, ring.ErrBadConfig) {
		t.Fatalf("Load 1: %v", err)
	}
	shares, err := Shares(c)
	if err != nil || math.Abs(shares["node-0000"]+shares["node-0001"]-1) > 1e-9 {
		t.Fatalf("shares %v %v", shares, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, err := range map[string]error{
		"maglev not prime": func() error { _, err := NewMaglev(MaglevConfig{TableSize: 1000}); return err }(),
		"maglev too small": func() error {
			_, err := NewMaglev(MaglevConfig{TableSize: 5}, members(6)...)
			return err
		}(),
		"multiprobe probes -1": func() error { _, err := NewMultiProbe(MultiProbeConfig{Probes: -1}); return err }(),
		"consistent load 1":    func() error { _, err := NewConsistent(ConsistentConfig{Load: 1}); return err }(),
	} {
		if !errors.Is(err, ring.ErrBadConfig) && !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Zero configs mean the defaults.
	if _, err := NewMultiProbe(MultiProbeConfig{}, members(3)...); err != nil {
		t.Errorf("zero MultiProbeConfig: %v", err)
	}
	if _, err := NewMaglev(MaglevConfig{}, members(3)...); err != nil {
		t.Errorf("zero MaglevConfig: %v", err)
	}
	if _, err := NewConsistent(ConsistentConfig{}, members(3)...); err != nil {
		t.Errorf("zero ConsistentConfig: %v", err)
	}
	if _, err := Shares(mustJump(t, members(3)...)); !errors.Is(err, ErrNoShares) {
		t.Errorf("Shares(jump): %v", err)
	}
}

func mustJump(t *testing.T, ms ...ring.Member) *Jump {
	t.Helper()
	j, err := NewJump(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
