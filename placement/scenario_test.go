package placement

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/placerhq/placer/ring"
)

var update = flag.Bool("update", false, "rewrite testdata/plans/*.golden from the current planner")

// TestPlanScenarios runs the rebalance scripts in testdata/plans/*.txt
// (raft interaction-test style) and compares the plans with the .golden
// files next to them; run with -update to regenerate those.
//
// Script lines: "vnodes N", "keys N", "ring NAME[:WEIGHT]...", then steps
// "join NAME[:WEIGHT]", "leave NAME" (graceful or failed: the ring is the
// same), "weight NAME W". Every member hosts exactly the keys it owns; at
// each step every member plans with planDiff, the plans are checked against
// planFull and the per-key model, applied, and summarised.
func TestPlanScenarios(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "plans", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := runScenario(t, f)
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("plans differ from %s (run with -update if intended)\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// scenario is the state of a running script.
type scenario struct {
	t       *testing.T
	vnodes  int
	keys    []hostedKey
	members []ring.Member
	ring    *ring.Ring
	out     strings.Builder
}

func runScenario(t *testing.T, path string) string {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	s := &scenario{t: t, vnodes: 64}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			s.out.WriteString(line + "\n")
			continue
		}
		s.exec(strings.Fields(line))
	}
	return s.out.String()
}

func (s *scenario) exec(f []string) {
	switch f[0] {
	case "vnodes":
		s.vnodes = s.atoi(f[1])
	case "keys":
		n := s.atoi(f[1])
		s.keys = make([]hostedKey, n)
		for i := range n {
			k := keyName(i)
			s.keys[i] = hostedKey{ID: keyID{Kind: "k", Key: k}, Hash: ring.HashString(k)}
		}
	case "ring":
		for _, m := range f[1:] {
			s.members = append(s.members, s.member(m))
		}
		s.ring = s.build(s.members)
		fmt.Fprintf(&s.out, "ring %s\n", s.describe(s.ring))
	case "join", "leave", "weight":
		s.step(f)
	default:
		s.t.Fatalf("unknown command %q", f[0])
	}
}

func (s *scenario) atoi(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *scenario) member(spec string) ring.Member {
	name, w, ok := strings.Cut(spec, ":")
	m := ring.Member{Name: name, Weight: 1}
	if ok {
		m.Weight = s.atoi(w)
	}
	return m
}

func (s *scenario) build(ms []ring.Member) *ring.Ring {
	r, err := buildRing(s.vnodes, ms)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// describe lists each member with its key count.
func (s *scenario) describe(r *ring.Ring) string {
	count := map[string]int{}
	for _, k := range s.keys {
		count[r.LocateHash(k.Hash)]++
	}
	var parts []string
	for _, m := range r.Members() {
		parts = append(parts, fmt.Sprintf("%s:%d=%d", m.Name, m.Weight, count[m.Name]))
	}
	return strings.Join(parts, " ")
}

// step applies one membership change and prints the plans.
func (s *scenario) step(f []string) {
	next := slices.Clone(s.members)
	switch f[0] {
	case "join":
		next = append(next, s.member(f[1]))
	case "leave":
		next = slices.DeleteFunc(next, func(m ring.Member) bool { return m.Name == f[1] })
	case "weight":
		i := slices.IndexFunc(next, func(m ring.Member) bool { return m.Name == f[1] })
		next[i].Weight = s.atoi(f[2])
	}
	newRing := s.build(next)
	fmt.Fprintf(&s.out, "> %s\n", strings.Join(f, " "))
	flows, moved := s.plan(s.ring, newRing)
	fmt.Fprintf(&s.out, "moved %d of %d keys (%.1f%%)\n", moved, len(s.keys), 100*float64(moved)/float64(len(s.keys)))
	for _, fl := range flows {
		s.out.WriteString(fl + "\n")
	}
	fmt.Fprintf(&s.out, "ring %s\n", s.describe(newRing))
	s.members, s.ring = next, newRing
}

// plan runs every member's planDiff, checks it, and returns the flows
// "from -> to count" sorted, and the number of moves.
func (s *scenario) plan(old, new *ring.Ring) ([]string, int) {
	flow := map[string]int{}
	moved := 0
	for _, m := range old.Members() {
		var hosted []hostedKey
		for _, k := range s.keys {
			if old.LocateHash(k.Hash) == m.Name {
				hosted = append(hosted, k)
			}
		}
		d := sortMoves(planDiff(m.Name, hosted, old, new))
		if f := sortMoves(planFull(m.Name, hosted, new)); !slices.Equal(d, f) {
			s.t.Fatalf("%s: planDiff %d moves, planFull %d", m.Name, len(d), len(f))
		}
		if n := sortMoves(naivePlan(m.Name, hosted, old, new, true)); !slices.Equal(d, n) {
			s.t.Fatalf("%s: planDiff differs from the per-key model", m.Name)
		}
		for _, mv := range d {
			flow[m.Name+" -> "+mv.To]++
			moved++
		}
	}
	out := make([]string, 0, len(flow))
	for k, v := range flow {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(out)
	return out, moved
}
