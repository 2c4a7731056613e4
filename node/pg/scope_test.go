package pg_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
	"github.com/placerhq/placer/node/pg"
)

const wait = 5 * time.Second

// cluster starts n connected nodes, each running the default scope, all
// closed at cleanup.
func cluster(t *testing.T, n int, opts nodetest.Options) (*nodetest.Cluster, []*pg.Scope) {
	t.Helper()
	c := nodetest.New(t, n, opts)
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	scopes := make([]*pg.Scope, n)
	for i := range n {
		scopes[i] = startScope(t, c.Node(i), pg.DefaultConfig())
	}
	return c, scopes
}

func startScope(t *testing.T, n *node.Node, cfg pg.Config) *pg.Scope {
	t.Helper()
	s, err := pg.Start(n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func inbox(t *testing.T, n *node.Node) *node.Inbox {
	t.Helper()
	ib, err := n.NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ib.Close)
	return ib
}

// sorted returns pids sorted, for comparisons.
func sorted(pids []node.PID) []node.PID {
	out := slices.Clone(pids)
	slices.SortFunc(out, func(a, b node.PID) int {
		if a.Node != b.Node {
			if a.Node < b.Node {
				return -1
			}
			return 1
		}
		return int(a.ID) - int(b.ID)
	})
	return out
}

// waitMembers waits until every scope sees exactly want in group.
func waitMembers(t *testing.T, scopes []*pg.Scope, group string, want ...node.PID) {
	t.Helper()
	want = sorted(want)
	for _, s := range scopes {
		nodetest.WaitFor(t, wait, s.Node().Self()+" sees "+group, func() bool {
			return slices.Equal(sorted(s.Members(group)), want)
		})
	}
}

// The seed's iex session: join on one node, the members are seen on the
// others; get_closest_pid prefers a local member.
func TestJoinSeenEverywhere(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{})
	a, b := inbox(t, c.Node(0)), inbox(t, c.Node(1))
	if err := scopes[0].Join("workers", a.Self()); err != nil {
		t.Fatal(err)
	}
	if err := scopes[1].Join("workers", b.Self()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "workers", a.Self(), b.Self())
	for i, want := range []node.PID{a.Self(), b.Self()} {
		for range 20 {
			if got, err := scopes[i].Closest("workers"); err != nil || got != want {
				t.Fatalf("closest on node %d: %v %v, want the local %v", i, got, err, want)
			}
		}
	}
	if got, err := scopes[2].Closest("workers"); err != nil || (got != a.Self() && got != b.Self()) {
		t.Fatalf("closest without a local member: %v %v", got, err)
	}
	if got := scopes[0].LocalMembers("workers"); !slices.Equal(got, []node.PID{a.Self()}) {
		t.Fatalf("local members %v", got)
	}
	if got := scopes[2].WhichGroups(); !slices.Equal(got, []string{"workers"}) {
		t.Fatalf("which groups %v", got)
	}
	if got := scopes[2].WhichLocalGroups(); len(got) != 0 {
		t.Fatalf("which local groups on a node without members: %v", got)
	}
	if got := scopes[1].Groups(); !slices.Equal(got, []pg.GroupInfo{{Name: "workers", Members: 2, Local: 1}}) {
		t.Fatalf("groups %v", got)
	}
}

// A process may join more than once; it stays a member until it left as
// often.
func TestJoinCounted(t *testing.T) {
	c, scopes := cluster(t, 2, nodetest.Options{})
	a := inbox(t, c.Node(0))
	if err := scopes[0].Join("g", a.Self(), a.Self()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "g", a.Self(), a.Self())
	if err := scopes[0].Leave("g", a.Self()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "g", a.Self())
	if err := scopes[0].Leave("g", a.Self()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "g")
	if err := scopes[0].Leave("g", a.Self()); !errors.Is(err, pg.ErrNotJoined) {
		t.Fatalf("leave when not joined: %v", err)
	}
}

// Bad input gets a typed error and changes nothing.
func TestJoinBadInput(t *testing.T) {
	c, scopes := cluster(t, 2, nodetest.Options{})
	s := scopes[0]
	local, remote := inbox(t, c.Node(0)), inbox(t, c.Node(1))
	dead := inbox(t, c.Node(0))
	dead.Close()
	long := string(make([]byte, pg.MaxNameLen+1))
	for _, tc := range []struct {
		group string
		pids  []node.PID
		want  error
	}{
		{"", []node.PID{local.Self()}, pg.ErrBadGroup},
		{long, []node.PID{local.Self()}, pg.ErrBadGroup},
		{"g", []node.PID{local.Self(), remote.Self()}, pg.ErrNotLocal},
		{"g", []node.PID{local.Self(), dead.Self()}, pg.ErrNoProc},
		{"g", []node.PID{{Node: c.Name(0), ID: 1 << 40, Creation: c.Node(0).Creation()}}, node.ErrNoProc},
	} {
		if err := s.Join(tc.group, tc.pids...); !errors.Is(err, tc.want) {
			t.Errorf("Join(%q, %v) = %v, want %v", tc.group, tc.pids, err, tc.want)
		}
	}
	if err := s.Leave("g", remote.Self()); !errors.Is(err, pg.ErrNotLocal) {
		t.Errorf("leave of a remote pid: %v", err)
	}
	if g := s.WhichGroups(); len(g) != 0 {
		t.Fatalf("bad joins changed state: %v", g)
	}
	if st := s.Stats(); st.LocalMembers != 0 {
		t.Fatalf("stats after bad joins: %+v", st)
	}
}

// A member that exits leaves everywhere; so do the members of a node that
// is cut off, and a heal brings them back.
func TestExitAndCutRemoveMembers(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{})
	a, b := inbox(t, c.Node(0)), inbox(t, c.Node(1))
	c2 := inbox(t, c.Node(2))
	for i, ib := range []*node.Inbox{a, b, c2} {
		if err := scopes[i].Join("g", ib.Self()); err != nil {
			t.Fatal(err)
		}
	}
	waitMembers(t, scopes, "g", a.Self(), b.Self(), c2.Self())
	a.Close()
	waitMembers(t, scopes, "g", b.Self(), c2.Self())

	if err := c.Isolate(2); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes[:2], "g", b.Self())
	waitMembers(t, scopes[2:], "g", c2.Self())
	if err := c.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, scopes, "g", b.Self(), c2.Self())
}

// A node that stops takes its members with it; its new incarnation starts
// empty and learns the others' members.
func TestNodeRestart(t *testing.T) {
	c, scopes := cluster(t, 3, nodetest.Options{})
	a, b := inbox(t, c.Node(0)), inbox(t, c.Node(2))
	_ = scopes[0].Join("g", a.Self())
	_ = scopes[2].Join("g", b.Self())
	waitMembers(t, scopes, "g", a.Self(), b.Self())
	_ = scopes[2].Close()
	waitMembers(t, scopes[:2], "g", a.Self())
	n2, err := c.Restart(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ConnectAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	scopes[2] = startScope(t, n2, pg.DefaultConfig())
	waitMembers(t, scopes, "g", a.Self())
}
