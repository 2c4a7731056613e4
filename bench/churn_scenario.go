package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/placerhq/placer/ring"
)

// ErrBadScenario: a scenario (built-in name or file) is not valid. Errors
// for a file name the line.
var ErrBadScenario = errors.New("bench: bad scenario")

// ChurnChange is one membership change of an event: a ring.Change, and
// whether a removal is a failure (seen late by the others: --views) rather
// than a graceful leave.
type ChurnChange struct {
	ring.Change
	Fail bool
}

// ChurnEvent is the changes that happen at one moment, applied at once.
type ChurnEvent struct {
	Changes []ChurnChange
	Label   string  // from a `mark` line, or the built-in scenario's phase
	At      float64 // seconds from the start (for --views)
}

// Scenario is an initial member set and the events that follow.
type Scenario struct {
	Name    string
	Initial []ring.Member
	Events  []ChurnEvent
}

// ScenarioParams parameterises the built-in scenarios.
type ScenarioParams struct {
	Nodes    int     // initial member count
	Events   int     // random: number of events
	Flaps    int     // flapping: leave+join cycles
	Seed     uint64  // random: the seed
	Interval float64 // seconds between events (random: the mean of exponential gaps)
	Drain    int     // reweight: the drained host's weight at the start
}

// BuiltinScenarios lists the built-in scenario names, in report order.
var BuiltinScenarios = []string{"rolling-restart", "deploy-surge", "scale-out", "scale-in", "zone-loss", "flapping", "reweight", "random"}

// churnName names node i of the initial cluster; churnNewName names the
// i-th node that joins later. All names have the same length (see
// ringMemberName on buraksezer/consistent's vnode keys).
func churnName(i int) string    { return fmt.Sprintf("node-%05d", i) }
func churnNewName(i int) string { return fmt.Sprintf("next-%05d", i) }

func churnMembers(n int) []ring.Member {
	ms := make([]ring.Member, n)
	for i := range ms {
		ms[i] = ring.Member{Name: churnName(i), Weight: 1}
	}
	return ms
}

func join(name string, w int) ChurnChange {
	return ChurnChange{Change: ring.AddChange(ring.Member{Name: name, Weight: w})}
}
func leave(name string) ChurnChange { return ChurnChange{Change: ring.RemoveChange(name)} }
func fail(name string) ChurnChange  { return ChurnChange{Change: ring.RemoveChange(name), Fail: true} }

// BuiltinScenario returns the named built-in scenario.
func BuiltinScenario(name string, p ScenarioParams) (Scenario, error) {
	if p.Nodes < 2 {
		return Scenario{}, fmt.Errorf("%w: %s needs at least 2 nodes, got %d", ErrBadScenario, name, p.Nodes)
	}
	s := Scenario{Name: name, Initial: churnMembers(p.Nodes)}
	var evs [][]ChurnChange
	switch name {
	case "rolling-restart":
		evs = rollingRestart(p.Nodes)
	case "deploy-surge":
		evs = deploySurge(p.Nodes)
	case "scale-out":
		evs = scaleSteps(p.Nodes, 10, max(1, p.Nodes/10), true)
	case "scale-in":
		evs = scaleSteps(p.Nodes, 10, max(1, p.Nodes/20), false)
	case "zone-loss":
		evs = zoneLoss(p.Nodes)
	case "flapping":
		evs = flapping(p.Flaps)
	case "reweight":
		s.Initial[0].Weight = p.Drain
		for w := p.Drain - 1; w > 0; w-- {
			evs = append(evs, []ChurnChange{{Change: ring.SetWeightChange(churnName(0), w)}})
		}
		evs = append(evs, []ChurnChange{leave(churnName(0))}) // weight 0: drained
	case "random":
		return randomScenario(p, s), nil
	default:
		return Scenario{}, fmt.Errorf("%w: unknown scenario %q (built in: %s, or a file name)", ErrBadScenario, name, strings.Join(BuiltinScenarios, ", "))
	}
	for i, cs := range evs {
		s.Events = append(s.Events, ChurnEvent{Changes: cs, At: float64(i+1) * p.Interval})
	}
	return s, nil
}

func rollingRestart(n int) [][]ChurnChange {
	var evs [][]ChurnChange
	for i := range n {
		evs = append(evs, []ChurnChange{leave(churnName(i))}, []ChurnChange{join(churnName(i), 1)})
	}
	return evs
}

// deploySurge is a rolling deploy with a 25% surge: a quarter of the size
// in new nodes joins at once, then every old node leaves, one by one, and a
// new node joins after each leave until there are as many new nodes as
// there were old ones.
func deploySurge(n int) [][]ChurnChange {
	surge := (n + 3) / 4
	var first []ChurnChange
	for i := range surge {
		first = append(first, join(churnNewName(i), 1))
	}
	evs := [][]ChurnChange{first}
	next := surge
	for i := range n {
		evs = append(evs, []ChurnChange{leave(churnName(i))})
		if next < n {
			evs = append(evs, []ChurnChange{join(churnNewName(next), 1)})
			next++
		}
	}
	return evs
}

// scaleSteps adds (out) or removes steps batches of size nodes each.
func scaleSteps(n, steps, size int, out bool) [][]ChurnChange {
	var evs [][]ChurnChange
	for s := range steps {
		var cs []ChurnChange
		for i := range size {
			if out {
				cs = append(cs, join(churnNewName(s*size+i), 1))
			} else if k := n - 1 - s*size - i; k > 0 {
				cs = append(cs, leave(churnName(k)))
			}
		}
		if len(cs) > 0 {
			evs = append(evs, cs)
		}
	}
	return evs
}

// zoneLoss: the nodes of one zone in three (every third) fail at once, then
// come back at once.
func zoneLoss(n int) [][]ChurnChange {
	var down, up []ChurnChange
	for i := 0; i < n; i += 3 {
		down = append(down, fail(churnName(i)))
		up = append(up, join(churnName(i), 1))
	}
	return [][]ChurnChange{down, up}
}

func flapping(flaps int) [][]ChurnChange {
	var evs [][]ChurnChange
	for range flaps {
		evs = append(evs, []ChurnChange{leave(churnName(0))}, []ChurnChange{join(churnName(0), 1)})
	}
	return evs
}

// randomScenario: joins and leaves as two Poisson processes of equal rate
// (so each event is a join or a leave with probability 1/2, at exponential
// gaps of mean p.Interval), the size kept between half and twice the start.
// A leave picks a uniformly random member.
func randomScenario(p ScenarioParams, s Scenario) Scenario {
	rng := rand.New(rand.NewPCG(p.Seed, 0x636875726e))
	alive := make([]string, 0, 2*p.Nodes)
	for _, m := range s.Initial {
		alive = append(alive, m.Name)
	}
	at, next := 0.0, 0
	for range p.Events {
		at += rng.ExpFloat64() * p.Interval
		joinIt := rng.IntN(2) == 0
		if len(alive) <= max(1, p.Nodes/2) {
			joinIt = true
		} else if len(alive) >= 2*p.Nodes {
			joinIt = false
		}
		var c ChurnChange
		if joinIt {
			c = join(churnNewName(next), 1)
			alive = append(alive, c.Member.Name)
			next++
		} else {
			i := rng.IntN(len(alive))
			c = leave(alive[i])
			alive[i] = alive[len(alive)-1]
			alive = alive[:len(alive)-1]
		}
		s.Events = append(s.Events, ChurnEvent{Changes: []ChurnChange{c}, At: at})
	}
	return s
}

// ParseScenario reads a scenario file: one event a line, run against an
// initial cluster of initial members (node-00000, ...). A line holds one
// command or several separated by ";" (applied at once):
//
//	join NAME [WEIGHT]   a node joins (weight 1 by default)
//	leave NAME           a node leaves gracefully
//	fail NAME            a node fails (the others notice late: --views)
//	weight NAME W        a member's weight becomes W (0 drains it: it leaves)
//	mark LABEL           labels the next event in the report
//
// "#" starts a comment; blank lines are skipped. Errors name the line: an
// unknown command, a wrong argument count, an unknown node, a duplicate
// join, a negative or too large weight.
func ParseScenario(name string, r io.Reader, initial []ring.Member, interval float64) (Scenario, error) {
	s := Scenario{Name: name, Initial: initial}
	live := map[string]int{}
	for _, m := range initial {
		live[m.Name] = m.Weight
	}
	sc := bufio.NewScanner(r)
	label := ""
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		var ev ChurnEvent
		for _, cmd := range strings.Split(text, ";") {
			f := strings.Fields(cmd)
			if len(f) == 0 {
				continue
			}
			if f[0] == "mark" {
				label = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cmd), "mark"))
				continue
			}
			c, err := parseChange(f, live)
			if err != nil {
				return Scenario{}, fmt.Errorf("%w: %s:%d: %v", ErrBadScenario, name, line, err)
			}
			ev.Changes = append(ev.Changes, c)
			if len(live) == 0 {
				return Scenario{}, fmt.Errorf("%w: %s:%d: the last member cannot leave", ErrBadScenario, name, line)
			}
		}
		if len(ev.Changes) > 0 {
			ev.Label, label = label, ""
			ev.At = float64(len(s.Events)+1) * interval
			s.Events = append(s.Events, ev)
		}
	}
	if err := sc.Err(); err != nil {
		return Scenario{}, fmt.Errorf("%w: %s: %v", ErrBadScenario, name, err)
	}
	if len(s.Events) == 0 {
		return Scenario{}, fmt.Errorf("%w: %s: no events", ErrBadScenario, name)
	}
	return s, nil
}

// parseChange parses one command and applies it to live (name -> weight).
func parseChange(f []string, live map[string]int) (ChurnChange, error) {
	want := map[string][2]int{"join": {2, 3}, "leave": {2, 2}, "fail": {2, 2}, "weight": {3, 3}}
	n, ok := want[f[0]]
	if !ok {
		return ChurnChange{}, fmt.Errorf("unknown command %q (want join, leave, fail, weight or mark)", f[0])
	}
	if len(f) < n[0] || len(f) > n[1] {
		return ChurnChange{}, fmt.Errorf("%s takes %d to %d arguments, got %d", f[0], n[0]-1, n[1]-1, len(f)-1)
	}
	name := f[1]
	_, isLive := live[name]
	w := 1
	if len(f) == 3 {
		var err error
		if w, err = parseWeight(f[2], f[0] == "weight"); err != nil {
			return ChurnChange{}, err
		}
	}
	switch {
	case f[0] == "join" && isLive:
		return ChurnChange{}, fmt.Errorf("duplicate join: %s is already a member", name)
	case f[0] != "join" && !isLive:
		return ChurnChange{}, fmt.Errorf("unknown node %s (not a member at this point)", name)
	}
	switch f[0] {
	case "join":
		live[name] = w
		return join(name, w), nil
	case "weight":
		if w > 0 {
			live[name] = w
			return ChurnChange{Change: ring.SetWeightChange(name, w)}, nil
		}
	}
	delete(live, name)
	return ChurnChange{Change: ring.RemoveChange(name), Fail: f[0] == "fail"}, nil
}

func parseWeight(s string, zeroOK bool) (int, error) {
	w, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("weight %q is not an integer", s)
	case w < 0:
		return 0, fmt.Errorf("negative weight %d", w)
	case w == 0 && !zeroOK:
		return 0, fmt.Errorf("weight 0 (a join needs 1..%d)", ring.MaxWeight)
	case w > ring.MaxWeight:
		return 0, fmt.Errorf("weight %d above %d", w, ring.MaxWeight)
	}
	return w, nil
}
