package pg_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/inproc"
	"github.com/placerhq/placer/node/pg"
)

// propCluster is a real cluster (memnet) with a naive model of what every
// node must see once the exchange has settled: its own members and those
// of the nodes it is connected to.
type propCluster struct {
	t      *rapid.T
	c      *inproc.Cluster
	scopes []*pg.Scope
	procs  [][]*node.Inbox               // live member candidates by node
	joined []map[node.PID]map[string]int // the model: local members by node
	cut    map[[2]int]bool               // cut links
}

var propGroups = []string{"a", "b"}

func newPropCluster(t *rapid.T, n int) *propCluster {
	c, err := inproc.Start(n, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc := &propCluster{t: t, c: c, cut: map[[2]int]bool{}}
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s, err := pg.Start(c.Node(i), pg.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		pc.scopes = append(pc.scopes, s)
		pc.procs = append(pc.procs, nil)
		pc.joined = append(pc.joined, map[node.PID]map[string]int{})
		pc.spawn(i)
	}
	return pc
}

func (pc *propCluster) close() {
	for _, s := range pc.scopes {
		_ = s.Close()
	}
	_ = pc.c.Close()
}

func (pc *propCluster) spawn(i int) {
	ib, err := pc.c.Node(i).NewInbox()
	if err != nil {
		pc.t.Fatal(err)
	}
	pc.procs[i] = append(pc.procs[i], ib)
}

func (pc *propCluster) pick(t *rapid.T) (int, *node.Inbox, string) {
	i := rapid.IntRange(0, len(pc.scopes)-1).Draw(t, "node")
	ib := rapid.SampledFrom(pc.procs[i]).Draw(t, "proc")
	return i, ib, rapid.SampledFrom(propGroups).Draw(t, "group")
}

func (pc *propCluster) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"join": func(t *rapid.T) {
			i, ib, g := pc.pick(t)
			if err := pc.scopes[i].Join(g, ib.Self()); err != nil {
				t.Fatalf("join: %v", err)
			}
			gs := pc.joined[i][ib.Self()]
			if gs == nil {
				gs = map[string]int{}
				pc.joined[i][ib.Self()] = gs
			}
			gs[g]++
		},
		"leave": func(t *rapid.T) {
			i, ib, g := pc.pick(t)
			err := pc.scopes[i].Leave(g, ib.Self())
			if (err == nil) != (pc.joined[i][ib.Self()][g] > 0) {
				t.Fatalf("leave %s: %v, model says joined %d times", g, err, pc.joined[i][ib.Self()][g])
			}
			if err == nil {
				pc.joined[i][ib.Self()][g]--
			}
		},
		"exit": func(t *rapid.T) {
			i, ib, _ := pc.pick(t)
			ib.Close()
			delete(pc.joined[i], ib.Self())
			pc.procs[i] = slices.DeleteFunc(pc.procs[i], func(x *node.Inbox) bool { return x == ib })
			pc.spawn(i)
		},
		"cut":  pc.cutAction,
		"heal": pc.healAction,
	}
}

func (pc *propCluster) pair(t *rapid.T) (int, int, bool) {
	i := rapid.IntRange(0, len(pc.scopes)-1).Draw(t, "a")
	j := rapid.IntRange(0, len(pc.scopes)-1).Draw(t, "b")
	if i > j {
		i, j = j, i
	}
	return i, j, i != j
}

func (pc *propCluster) cutAction(t *rapid.T) {
	if i, j, ok := pc.pair(t); ok && !pc.cut[[2]int{i, j}] {
		pc.cut[[2]int{i, j}] = true
		_ = pc.c.Cut(i, j)
	}
}

func (pc *propCluster) healAction(t *rapid.T) {
	i, j, ok := pc.pair(t)
	if !ok || !pc.cut[[2]int{i, j}] {
		return
	}
	delete(pc.cut, [2]int{i, j})
	_ = pc.c.Restore(i, j)
	if err := pc.c.Node(i).ConnectErr(context.Background(), pc.c.Name(j)); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
}

// want is the converged membership node i must see in group g.
func (pc *propCluster) want(i int, g string) []node.PID {
	var out []node.PID
	for j := range pc.scopes {
		if pc.cut[[2]int{min(i, j), max(i, j)}] {
			continue
		}
		for p, gs := range pc.joined[j] {
			out = append(out, slices.Repeat([]node.PID{p}, gs[g])...)
		}
	}
	return sorted(out)
}

// settle waits until every node sees what the model says.
func (pc *propCluster) settle() {
	deadline := time.Now().Add(wait)
	for i, s := range pc.scopes {
		for _, g := range propGroups {
			want := pc.want(i, g)
			for !slices.Equal(sorted(s.Members(g)), want) {
				if time.Now().After(deadline) {
					pc.t.Fatalf("%s sees %s = %v, want %v", s.Node().Self(), g, s.Members(g), want)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// TestPropConverges: any sequence of joins, leaves, exits, cuts and heals
// on real nodes ends with every node seeing the model's membership.
func TestPropConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pc := newPropCluster(t, 3)
		defer pc.close()
		actions := pc.actions()
		actions["settle"] = func(*rapid.T) { pc.settle() }
		t.Repeat(actions)
		pc.settle()
	})
}
