package pg

import (
	"cmp"
	"maps"
	"slices"

	"github.com/placerhq/placer/node"
)

// core is a scope's membership state machine: what this node's processes
// joined, what each peer scope told us, and the rules of pg's exchange. It
// does no I/O, starts no goroutines, reads no clock and takes no locks:
// each step returns its effects (events, messages to send, processes to
// watch), which the Scope carries out under its lock. Tests drive it
// directly, many nodes and a simulated network at once (sim_test.go).
type core struct {
	self   string                      // this node's name
	local  map[node.PID]map[string]int // local member -> group -> times joined
	remote map[string]*peer            // peer node -> its scope and members
}

// peer is what one peer scope told us: its identity (the PID its messages
// come from) and its members by group, with repeats.
type peer struct {
	scope  node.PID
	groups map[string][]node.PID
}

// outMsg is a message for the scope on node to.
type outMsg struct {
	to string
	m  *outgoing
}

// outgoing is a message shared by the outMsgs of one broadcast; the sender
// encodes it once (enc is touched only by the Scope's sender goroutine).
type outgoing struct {
	msg message
	enc [][]byte
}

// effects is what a step asks of the shell.
type effects struct {
	events  []Event    // membership changes, in order
	out     []outMsg   // messages to send, in order
	watch   []node.PID // local processes that became members: monitor them
	unwatch []node.PID // local processes that are members no more
	ignored bool       // a message from a scope we do not exchange with
}

func newCore(self string) core {
	return core{self: self, local: map[node.PID]map[string]int{}, remote: map[string]*peer{}}
}

// join adds local pids to group (each once per occurrence).
func (c *core) join(group string, pids []node.PID) effects {
	var fx effects
	for _, p := range pids {
		gs := c.local[p]
		if gs == nil {
			gs = map[string]int{}
			c.local[p] = gs
			fx.watch = append(fx.watch, p)
		}
		gs[group]++
	}
	pids = slices.Clone(pids)
	fx.events = []Event{{Group: group, Kind: Joined, PIDs: pids}}
	fx.out = c.broadcast(message{op: opJoin, entries: []entry{{group, pids}}})
	return fx
}

// leave removes one membership of group per occurrence of a local pid; no
// events means none of them was a member.
func (c *core) leave(group string, pids []node.PID) effects {
	var fx effects
	var left []node.PID
	for _, p := range pids {
		if c.leaveOne(p, group, &fx) {
			left = append(left, p)
		}
	}
	if len(left) == 0 {
		return fx
	}
	fx.events = []Event{{Group: group, Kind: Left, PIDs: left}}
	fx.out = c.broadcast(message{op: opLeave, entries: []entry{{group, left}}})
	return fx
}

func (c *core) leaveOne(p node.PID, group string, fx *effects) bool {
	gs := c.local[p]
	if gs[group] == 0 {
		return false
	}
	if gs[group]--; gs[group] == 0 {
		delete(gs, group)
	}
	if len(gs) == 0 {
		delete(c.local, p)
		fx.unwatch = append(fx.unwatch, p)
	}
	return true
}

// localDown: the local member p exited; it leaves every group it was in.
func (c *core) localDown(p node.PID) effects {
	gs := c.local[p]
	if gs == nil {
		return effects{}
	}
	delete(c.local, p)
	var fx effects
	var entries []entry
	for _, g := range slices.Sorted(maps.Keys(gs)) {
		pids := slices.Repeat([]node.PID{p}, gs[g])
		entries = append(entries, entry{g, pids})
		fx.events = append(fx.events, Event{Group: g, Kind: Left, PIDs: pids})
	}
	fx.out = c.broadcast(message{op: opLeave, entries: entries})
	return fx
}

// nodeUp: a visible node connected; ask its scope for its members.
func (c *core) nodeUp(name string) effects {
	return effects{out: []outMsg{{name, &outgoing{msg: message{op: opDiscover}}}}}
}

// nodeDown: the connection to a node went down; its members are gone.
func (c *core) nodeDown(name string) effects { return effects{events: c.forget(name)} }

// closing: this scope stops; tell every peer to forget our members.
func (c *core) closing() effects { return effects{out: c.broadcast(message{op: opGoodbye})} }

// receive applies a message from the peer scope from. visible reports
// whether from's node is a visible peer now; only discover and sync from a
// scope we do not know yet need it.
func (c *core) receive(from node.PID, m message, visible bool) effects {
	if from.Node == c.self || from.Node == "" {
		return effects{ignored: true}
	}
	switch m.op {
	case opDiscover:
		return c.discover(from, visible)
	case opSync:
		return c.sync(from, m.entries, visible)
	case opJoin, opLeave:
		return c.delta(from, m)
	case opGoodbye:
		if !c.knows(from) {
			return effects{ignored: true}
		}
		return effects{events: c.forget(from.Node)}
	}
	return effects{ignored: true}
}

// discover answers with our members, and discovers the sender in turn if
// we did not know it (pg's handle_discover).
func (c *core) discover(from node.PID, visible bool) effects {
	if !visible {
		return effects{ignored: true}
	}
	sync := &outgoing{msg: message{op: opSync, entries: c.snapshot()}}
	fx := effects{out: []outMsg{{from.Node, sync}}}
	if !c.knows(from) {
		fx.events = c.adopt(from)
		fx.out = append(fx.out, outMsg{from.Node, &outgoing{msg: message{op: opDiscover}}})
	}
	return fx
}

// sync replaces everything we held for the sender by its message. A sync
// from a scope we do not know (any more) is answered with ours: we sent it
// no joins or leaves while we did not know it, so what it holds of us may
// be stale. (This happens when our inbox handles the down of an earlier
// connection to its node after the new connection's first messages.)
func (c *core) sync(from node.PID, entries []entry, visible bool) effects {
	var fx effects
	if !c.knows(from) {
		if !visible {
			return effects{ignored: true}
		}
		fx.events = c.adopt(from)
		fx.out = []outMsg{{from.Node, &outgoing{msg: message{op: opSync, entries: c.snapshot()}}}}
	}
	p := c.remote[from.Node]
	next := map[string][]node.PID{}
	for _, e := range entries {
		next[e.group] = append(next[e.group], e.pids...)
	}
	fx.events = append(fx.events, diffGroups(p.groups, next)...)
	p.groups = next
	return fx
}

// delta applies a join or leave of a known peer scope.
func (c *core) delta(from node.PID, m message) effects {
	if !c.knows(from) {
		return effects{ignored: true}
	}
	p := c.remote[from.Node]
	var fx effects
	for _, e := range m.entries {
		if m.op == opJoin {
			p.groups[e.group] = append(p.groups[e.group], e.pids...)
			fx.events = append(fx.events, Event{Group: e.group, Kind: Joined, PIDs: e.pids})
			continue
		}
		rest, gone := removeEach(p.groups[e.group], e.pids)
		setOrDelete(p.groups, e.group, rest)
		if len(gone) > 0 {
			fx.events = append(fx.events, Event{Group: e.group, Kind: Left, PIDs: gone})
		}
	}
	return fx
}

// knows reports whether from is the peer scope we exchange with on its
// node (a message of an earlier scope of that node is not).
func (c *core) knows(from node.PID) bool {
	p := c.remote[from.Node]
	return p != nil && p.scope == from
}

// adopt starts exchanging with the scope from, forgetting an earlier scope
// of its node.
func (c *core) adopt(from node.PID) []Event {
	evs := c.forget(from.Node)
	c.remote[from.Node] = &peer{scope: from, groups: map[string][]node.PID{}}
	return evs
}

// forget drops a peer and its members.
func (c *core) forget(name string) []Event {
	p := c.remote[name]
	if p == nil {
		return nil
	}
	delete(c.remote, name)
	evs := make([]Event, 0, len(p.groups))
	for _, g := range slices.Sorted(maps.Keys(p.groups)) {
		evs = append(evs, Event{Group: g, Kind: Left, PIDs: p.groups[g]})
	}
	return evs
}

// broadcast addresses m to every peer scope, in node order.
func (c *core) broadcast(m message) []outMsg {
	if len(c.remote) == 0 {
		return nil
	}
	o := &outgoing{msg: m}
	out := make([]outMsg, 0, len(c.remote))
	for _, name := range slices.Sorted(maps.Keys(c.remote)) {
		out = append(out, outMsg{name, o})
	}
	return out
}

// snapshot lists our local members by group (a sync's body), sorted.
func (c *core) snapshot() []entry {
	groups := map[string][]node.PID{}
	for p, gs := range c.local {
		for g, k := range gs {
			for range k {
				groups[g] = append(groups[g], p)
			}
		}
	}
	out := make([]entry, 0, len(groups))
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		pids := groups[g]
		slices.SortFunc(pids, comparePID)
		out = append(out, entry{g, pids})
	}
	return out
}

// diffGroups lists the changes from old to next, group by group: who left
// (one occurrence at a time) and who joined.
func diffGroups(old, next map[string][]node.PID) []Event {
	names := slices.Sorted(maps.Keys(old))
	for g := range next {
		if _, ok := old[g]; !ok {
			names = append(names, g)
		}
	}
	slices.Sort(names)
	var evs []Event
	for _, g := range names {
		if left, _ := removeEach(old[g], next[g]); len(left) > 0 {
			evs = append(evs, Event{Group: g, Kind: Left, PIDs: left})
		}
		if added, _ := removeEach(next[g], old[g]); len(added) > 0 {
			evs = append(evs, Event{Group: g, Kind: Joined, PIDs: added})
		}
	}
	return evs
}

// removeEach removes one occurrence of each of pids from list: rest is a
// new slice of what stays, gone what was found (both in list's order).
func removeEach(list, pids []node.PID) (rest, gone []node.PID) {
	want := make(map[node.PID]int, len(pids))
	for _, p := range pids {
		want[p]++
	}
	for _, p := range list {
		if want[p] > 0 {
			want[p]--
			gone = append(gone, p)
			continue
		}
		rest = append(rest, p)
	}
	return rest, gone
}

func setOrDelete(m map[string][]node.PID, k string, v []node.PID) {
	if len(v) == 0 {
		delete(m, k)
		return
	}
	m[k] = v
}

func comparePID(a, b node.PID) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Creation, b.Creation))
}
