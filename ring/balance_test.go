package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// balanceNameSets are member-name schemes a cluster might use, and random
// names: the default VNodes must balance all of them, not one lucky set.
func balanceNameSets() map[string]func(i int) string {
	sets := map[string]func(i int) string{
		"node-%04d":   func(i int) string { return fmt.Sprintf("node-%04d", i) },
		"node-%d":     func(i int) string { return fmt.Sprintf("node-%d", i) },
		"ip:port":     func(i int) string { return fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250+1) },
		"host.domain": func(i int) string { return fmt.Sprintf("host%03d.example.com", i) },
		"erlang-node": func(i int) string { return fmt.Sprintf("worker%d@192.168.1.%d", i, i%254+1) },
	}
	for s := uint64(0); s < 3; s++ {
		rng := rand.New(rand.NewPCG(s, 99))
		names := make([]string, 100)
		for i := range names {
			b := make([]byte, 6+rng.IntN(10))
			for j := range b {
				b[j] = "abcdefghijklmnopqrstuvwxyz0123456789-"[rng.IntN(37)]
			}
			names[i] = fmt.Sprint(string(b), i)
		}
		sets[fmt.Sprint("random-", s)] = func(i int) string { return names[i] }
	}
	return sets
}

// With the default VNodes, the exact hash-space shares of 10 and 100
// members meet the balance targets of docs/bench-ring.md (peak/avg ≤ 1.10,
// coefficient of variation ≤ 1.2/√V) for every name set, with room for the
// sampling noise of counting keys instead (about ±1% at 100 members and
// 1M keys): the peak must stay under 1.09.
func TestDefaultVNodesBalanceAcrossNameSets(t *testing.T) {
	v := DefaultConfig().VNodes
	for name, gen := range balanceNameSets() {
		for _, n := range []int{10, 100} {
			ms := make([]Member, n)
			for i := range ms {
				ms[i] = Member{Name: gen(i), Weight: 1}
			}
			shares, err := Shares(mustNew(t, DefaultConfig(), ms...))
			if err != nil {
				t.Fatal(err)
			}
			top, ss := 0.0, 0.0
			for _, s := range shares {
				top = math.Max(top, s*float64(n))
				ss += (s*float64(n) - 1) * (s*float64(n) - 1)
			}
			cv := math.Sqrt(ss / float64(n))
			if top > 1.09 || cv > 1.2/math.Sqrt(float64(v)) {
				t.Errorf("%s, %d members: peak/avg %.3f (want ≤ 1.09), cv %.4f (want ≤ %.4f)", name, n, top, cv, 1.2/math.Sqrt(float64(v)))
			}
		}
	}
}
