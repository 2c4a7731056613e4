package pg

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/node"
)

// The simulation drives several cores the way Scopes drive them, over a
// simulated network, in any interleaving the real system allows: the
// sender goroutine, message delivery on each connection and each node's
// inbox (exits, node up, node down) all run at their own pace. Then it
// drains everything and checks the converged membership against a naive
// model: node i sees exactly the local members of itself and of the nodes
// it is connected to.

// simNode is one node: its scope's core, the shell's monitor refs, the
// sender's queue, the inbox of notifications, and the view folded from
// the core's events (what Members shows).
type simNode struct {
	name    string
	c       core
	scope   node.PID
	refs    map[node.PID]uint64
	nextRef uint64
	outbox  []outMsg
	notes   []simNote
	procs   []node.PID
	alive   map[node.PID]bool
	view    map[string][]node.PID
	nextID  uint64
}

// simNote is a notification in a node's inbox.
type simNote struct {
	kind string // down, up, gone
	peer int
	pid  node.PID
	ref  uint64
}

type sim struct {
	t     *rapid.T
	nodes []*simNode
	conn  map[[2]int]bool       // connected pairs (i < j)
	wire  map[[2]int][]simFrame // frames in flight from i to j, in order
	limit int                   // MaxMessageSize: small, so syncs split
}

type simFrame struct {
	from node.PID
	b    []byte
}

func newSim(t *rapid.T, n int) *sim {
	s := &sim{t: t, conn: map[[2]int]bool{}, wire: map[[2]int][]simFrame{}, limit: 24}
	for i := range n {
		name := fmt.Sprintf("n%d@h", i)
		nd := &simNode{name: name, c: newCore(name), refs: map[node.PID]uint64{},
			alive: map[node.PID]bool{}, view: map[string][]node.PID{}, nextID: 100}
		nd.scope = nd.newPID()
		for range 2 {
			nd.spawn()
		}
		s.nodes = append(s.nodes, nd)
	}
	return s
}

func (nd *simNode) newPID() node.PID {
	nd.nextID++
	return node.PID{Node: nd.name, ID: nd.nextID, Creation: 1}
}

func (nd *simNode) spawn() {
	p := nd.newPID()
	nd.procs = append(nd.procs, p)
	nd.alive[p] = true
}

func pair(i, j int) [2]int {
	if i > j {
		i, j = j, i
	}
	return [2]int{i, j}
}

// step carries out a core step's effects as Scope.step does.
func (s *sim) step(i int, fx effects) {
	nd := s.nodes[i]
	for _, p := range fx.watch {
		nd.nextRef++
		nd.refs[p] = nd.nextRef
		if !nd.alive[p] { // monitoring a dead process: Down noproc at once
			nd.notes = append(nd.notes, simNote{kind: "down", pid: p, ref: nd.nextRef})
		}
	}
	for _, p := range fx.unwatch {
		delete(nd.refs, p)
	}
	for _, ev := range fx.events {
		s.fold(nd, ev)
	}
	nd.outbox = append(nd.outbox, fx.out...)
}

// fold applies ev to nd's view, checking that events are exact: a member
// that leaves was there.
func (s *sim) fold(nd *simNode, ev Event) {
	if len(ev.PIDs) == 0 {
		s.t.Fatalf("%s: empty %v event for %s", nd.name, ev.Kind, ev.Group)
	}
	v := (&groupView{all: nd.view[ev.Group]}).apply(ev, nd.name)
	if ev.Kind == Left && len(v.all) != len(nd.view[ev.Group])-len(ev.PIDs) {
		s.t.Fatalf("%s: %v left %s but were not all members of %v", nd.name, ev.PIDs, ev.Group, nd.view[ev.Group])
	}
	setOrDelete(nd.view, ev.Group, v.all)
}

func (s *sim) pickNode(t *rapid.T, label string) int {
	return rapid.IntRange(0, len(s.nodes)-1).Draw(t, label)
}

func (s *sim) pickProc(t *rapid.T, i int) node.PID {
	procs := s.nodes[i].procs
	return procs[rapid.IntRange(0, len(procs)-1).Draw(t, "proc")]
}

var simGroups = []string{"a", "bb", "ccc"}

func (s *sim) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"join": func(t *rapid.T) {
			i := s.pickNode(t, "node")
			p, g := s.pickProc(t, i), rapid.SampledFrom(simGroups).Draw(t, "group")
			if s.nodes[i].alive[p] { // Join refuses dead processes
				s.step(i, s.nodes[i].c.join(g, []node.PID{p}))
			}
		},
		"leave": func(t *rapid.T) {
			i := s.pickNode(t, "node")
			p, g := s.pickProc(t, i), rapid.SampledFrom(simGroups).Draw(t, "group")
			s.step(i, s.nodes[i].c.leave(g, []node.PID{p}))
		},
		"exit":    s.exit,
		"spawn":   func(t *rapid.T) { s.nodes[s.pickNode(t, "node")].spawn() },
		"connect": func(t *rapid.T) { s.connect(s.pickNode(t, "a"), s.pickNode(t, "b")) },
		"cut":     func(t *rapid.T) { s.cut(s.pickNode(t, "a"), s.pickNode(t, "b")) },
		"restart": func(t *rapid.T) { s.restartScope(s.pickNode(t, "node")) },
		"send":    func(t *rapid.T) { s.send(s.pickNode(t, "node")) },
		"deliver": func(t *rapid.T) { s.deliver(s.pickNode(t, "from"), s.pickNode(t, "to")) },
		"note":    func(t *rapid.T) { s.note(s.pickNode(t, "node")) },
	}
}

func (s *sim) exit(t *rapid.T) {
	i := s.pickNode(t, "node")
	nd := s.nodes[i]
	p := s.pickProc(t, i)
	if !nd.alive[p] {
		return
	}
	nd.alive[p] = false
	if ref, ok := nd.refs[p]; ok {
		nd.notes = append(nd.notes, simNote{kind: "down", pid: p, ref: ref})
	}
}

func (s *sim) connect(i, j int) {
	if i == j || s.conn[pair(i, j)] {
		return
	}
	s.conn[pair(i, j)] = true
	s.nodes[i].notes = append(s.nodes[i].notes, simNote{kind: "up", peer: j})
	s.nodes[j].notes = append(s.nodes[j].notes, simNote{kind: "up", peer: i})
}

// cut drops the connection and the frames in flight on it.
func (s *sim) cut(i, j int) {
	if i == j || !s.conn[pair(i, j)] {
		return
	}
	delete(s.conn, pair(i, j))
	delete(s.wire, [2]int{i, j})
	delete(s.wire, [2]int{j, i})
	s.nodes[i].notes = append(s.nodes[i].notes, simNote{kind: "gone", peer: j})
	s.nodes[j].notes = append(s.nodes[j].notes, simNote{kind: "gone", peer: i})
}

// restartScope closes node i's scope (goodbyes queued) and starts a new
// one with a new PID and no members, which discovers the connected nodes.
func (s *sim) restartScope(i int) {
	nd := s.nodes[i]
	s.step(i, nd.c.closing())
	nd.c, nd.scope, nd.refs = newCore(nd.name), nd.newPID(), map[node.PID]uint64{}
	nd.view = map[string][]node.PID{}
	for j := range s.nodes {
		if s.conn[pair(i, j)] {
			s.step(i, nd.c.nodeUp(s.nodes[j].name))
		}
	}
}

// send: node i's sender hands its oldest queued message to the wire,
// unless its node is not connected (noconnect).
func (s *sim) send(i int) {
	nd := s.nodes[i]
	if len(nd.outbox) == 0 {
		return
	}
	o := nd.outbox[0]
	nd.outbox = nd.outbox[1:]
	j := s.index(o.to)
	if !s.conn[pair(i, j)] {
		return
	}
	for _, b := range encodeChunks(o.m.msg, s.limit) {
		s.wire[[2]int{i, j}] = append(s.wire[[2]int{i, j}], simFrame{from: nd.scope, b: b})
	}
}

func (s *sim) deliver(i, j int) {
	q := s.wire[[2]int{i, j}]
	if len(q) == 0 {
		return
	}
	f := q[0]
	s.wire[[2]int{i, j}] = q[1:]
	m, err := decodeMessage(f.b, f.from)
	if err != nil {
		s.t.Fatalf("frame from %v does not decode: %v", f.from, err)
	}
	s.step(j, s.nodes[j].c.receive(f.from, m, s.conn[pair(i, j)]))
}

// note: node i handles its oldest notification, as Scope.handle does.
func (s *sim) note(i int) {
	nd := s.nodes[i]
	if len(nd.notes) == 0 {
		return
	}
	n := nd.notes[0]
	nd.notes = nd.notes[1:]
	switch n.kind {
	case "down":
		if ref, ok := nd.refs[n.pid]; ok && ref == n.ref {
			delete(nd.refs, n.pid)
			s.step(i, nd.c.localDown(n.pid))
		}
	case "up":
		s.step(i, nd.c.nodeUp(s.nodes[n.peer].name))
	case "gone":
		s.step(i, nd.c.nodeDown(s.nodes[n.peer].name))
	}
}

func (s *sim) index(name string) int {
	return slices.IndexFunc(s.nodes, func(nd *simNode) bool { return nd.name == name })
}

// drain runs every queue until all are empty.
func (s *sim) drain() {
	for busy := true; busy; {
		busy = false
		for i, nd := range s.nodes {
			for len(nd.notes) > 0 || len(nd.outbox) > 0 {
				busy = true
				s.note(i)
				s.send(i)
			}
			for j := range s.nodes {
				for len(s.wire[[2]int{i, j}]) > 0 {
					busy = true
					s.deliver(i, j)
				}
			}
		}
	}
}

// check compares every node's view with the model.
func (s *sim) check() {
	for i, nd := range s.nodes {
		want := map[string][]node.PID{}
		for j, other := range s.nodes {
			if i != j && !s.conn[pair(i, j)] {
				continue
			}
			for _, e := range other.c.snapshot() {
				want[e.group] = append(want[e.group], e.pids...)
			}
			if i != j && !other.c.knows(nd.scope) {
				s.t.Fatalf("%s does not exchange with its peer %s", other.name, nd.name)
			}
		}
		if !maps.EqualFunc(sortedGroups(nd.view), sortedGroups(want), slices.Equal) {
			s.t.Fatalf("%s sees %v, want %v", nd.name, nd.view, want)
		}
		for p := range nd.c.local {
			if !nd.alive[p] {
				s.t.Fatalf("%s: dead %v still a member", nd.name, p)
			}
		}
	}
}

func sortedGroups(m map[string][]node.PID) map[string][]node.PID {
	out := map[string][]node.PID{}
	for g, pids := range m {
		out[g] = slices.SortedFunc(slices.Values(pids), comparePID)
	}
	return out
}

func TestSimConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newSim(t, rapid.IntRange(2, 4).Draw(t, "nodes"))
		for i := range s.nodes {
			for j := i + 1; j < len(s.nodes); j++ {
				if rapid.Bool().Draw(t, "connected") {
					s.connect(i, j)
				}
			}
		}
		t.Repeat(s.actions())
		s.drain()
		s.check()
	})
}
