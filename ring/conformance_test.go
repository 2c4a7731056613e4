package ring

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// strategyBuilders builds each Strategy from a member list.
func strategyBuilders() map[string]func(ms ...Member) (Strategy, error) {
	small := Config{VNodes: 64}
	bcfg := DefaultBoundedConfig()
	bcfg.Ring = small
	bcfg.PartitionBits = 12
	return map[string]func(ms ...Member) (Strategy, error){
		"ring":    func(ms ...Member) (Strategy, error) { return New(small, ms...) },
		"bounded": func(ms ...Member) (Strategy, error) { return NewBounded(bcfg, ms...) },
	}
}

// Every strategy keeps the Strategy contract.
func TestStrategyConformance(t *testing.T) {
	for name, build := range strategyBuilders() {
		t.Run(name, func(t *testing.T) {
			ms := members(80)
			slices.SortFunc(ms, byName)
			s, err := build(ms...)
			if err != nil {
				t.Fatal(err)
			}
			checkStrategy(t, name, s, ms)
			rev := slices.Clone(ms)
			slices.Reverse(rev)
			s2, _ := build(rev...)
			if s2.Checksum() != s.Checksum() {
				t.Fatal("checksum depends on insertion order")
			}
			s3, err := s.With(AddChange(Member{"zz", 1}))
			if err != nil {
				t.Fatal(err)
			}
			if !s3.Has("zz") || s.Has("zz") || s3.Len() != 81 || s3.Checksum() == s.Checksum() {
				t.Fatal("With(add) must return a new snapshot with the member and leave the old one")
			}
			s4, err := s3.With(RemoveChange("zz"))
			if err != nil || s4.Checksum() != s.Checksum() {
				t.Fatalf("add then remove must restore the checksum: %v", err)
			}
		})
	}
}

func checkStrategy(t *testing.T, name string, s Strategy, ms []Member) {
	t.Helper()
	if s.Name() != name || s.Len() != len(ms) || !slices.Equal(s.Members(), ms) {
		t.Fatalf("Name %q Len %d Members %v", s.Name(), s.Len(), s.Members())
	}
	var dst []string
	for i := 0; i < 300; i++ {
		key := fmt.Sprint("key/", i)
		owner := s.LocateString(key)
		if owner == "" || !s.Has(owner) || s.Locate([]byte(key)) != owner || s.LocateHash(HashString(key)) != owner {
			t.Fatalf("%s: Locate, LocateString and LocateHash disagree or name a non-member: %q", key, owner)
		}
		n := []int{1, 3, 70, 200}[i%4]
		got := s.LocateN([]byte(key), n)
		dst = s.AppendLocateN(dst[:0], []byte(key), n)
		if !slices.Equal(got, dst) || len(got) != min(n, len(ms)) || got[0] != owner {
			t.Fatalf("%s: LocateN(%d) = %d names, first %q (owner %q)", key, n, len(got), got[0], owner)
		}
		seen := map[string]bool{}
		for _, g := range got {
			if seen[g] {
				t.Fatalf("%s: LocateN repeats %q", key, g)
			}
			seen[g] = true
		}
	}
	shares, err := Shares(s)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range shares {
		sum += v
	}
	if len(shares) != len(ms) || math.Abs(sum-1) > 1e-9 {
		t.Fatalf("shares of %d members sum to %v", len(shares), sum)
	}
}
