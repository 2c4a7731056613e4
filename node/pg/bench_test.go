package pg_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/placerhq/placer/node/nodetest"
	"github.com/placerhq/placer/node/pg"
)

// BenchmarkMembers: one Members read (a local read, target <= 2 µs) of
// groups of several sizes.
func BenchmarkMembers(b *testing.B) {
	for _, size := range []int{1, 8, 64, 512} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			c := nodetest.New(b, 1, nodetest.Options{})
			s, err := pg.Start(c.Node(0), pg.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for range size {
				ib, err := c.Node(0).NewInbox()
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Join("g", ib.Self())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if len(s.Members("g")) != size {
					b.Fatal("members")
				}
			}
		})
	}
}

// BenchmarkJoinVisible: from Join on one of three nodes until both others'
// Members show it, beside a node call round trip measured in the same run
// (target: join_visible_p50 <= 3 x call_p50). Each iteration is one join.
func BenchmarkJoinVisible(b *testing.B) {
	for _, tr := range []nodetest.Transport{nodetest.Memnet, nodetest.TCP} {
		b.Run(tr.String(), func(b *testing.B) {
			c := nodetest.New(b, 3, nodetest.Options{Transport: tr})
			if err := c.ConnectAll(context.Background()); err != nil {
				b.Fatal(err)
			}
			var scopes []*pg.Scope
			for i := range 3 {
				s, err := pg.Start(c.Node(i), pg.DefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				scopes = append(scopes, s)
			}
			b.ResetTimer()
			r, err := pg.Bench(context.Background(), scopes, pg.BenchConfig{Samples: max(b.N, 20)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.JoinVisibleP50us, "join_visible_p50_us")
			b.ReportMetric(r.CallP50us, "call_p50_us")
			b.ReportMetric(r.JoinVisibleRatio, "ratio")
			b.ReportMetric(r.MembersP50us*1000, "members_p50_ns")
		})
	}
}

// TestBench runs the helper briefly, as placer bench will.
func TestBench(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{})
	r, err := pg.Bench(context.Background(), scopes, pg.BenchConfig{Samples: 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.JoinVisibleP50us <= 0 || r.CallP50us <= 0 || r.MembersP50us <= 0 || r.JoinVisibleRatio <= 0 {
		t.Fatalf("figures %+v", r)
	}
	for i := range 3 {
		if m := scopes[i].Members("pg.bench"); len(m) != 0 {
			t.Fatalf("bench left members on %s: %v", c.Name(i), m)
		}
	}
	if _, err := pg.Bench(context.Background(), scopes[:1], pg.BenchConfig{}); err == nil {
		t.Fatal("bench with one scope")
	}
}
