package pg

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/placerhq/placer/internal/lossy"
	"github.com/placerhq/placer/node"
)

// Join makes the local processes pids members of group (pg:join). A
// process may join a group more than once (also within one call) and is
// then a member that many times, until it leaves as often or exits. The
// other visible nodes running the scope learn of it from this node. Bad
// input changes nothing: ErrBadGroup, ErrNotLocal (a PID of another node),
// ErrNoProc (a process that is not alive); ErrClosed after Close.
func (s *Scope) Join(group string, pids ...node.PID) error {
	if err := s.checkLocal(group, pids); err != nil {
		return err
	}
	for _, p := range pids {
		if _, err := s.n.ProcessInfo(p); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNoProc, p, err)
		}
	}
	if len(pids) == 0 {
		return nil
	}
	_, err := s.step(func(c *core) effects { return c.join(group, pids) })
	return err
}

// Leave removes one membership of group per occurrence of each of pids
// (pg:leave). ErrNotJoined when none of them was a member (nothing
// changes); ErrBadGroup, ErrNotLocal and ErrClosed as for Join.
func (s *Scope) Leave(group string, pids ...node.PID) error {
	if err := s.checkLocal(group, pids); err != nil {
		return err
	}
	fx, err := s.step(func(c *core) effects { return c.leave(group, pids) })
	if err == nil && len(fx.events) == 0 && len(pids) > 0 {
		err = fmt.Errorf("%w: %s", ErrNotJoined, group)
	}
	return err
}

func (s *Scope) checkLocal(group string, pids []node.PID) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	for _, p := range pids {
		if p.Node != s.n.Self() {
			return fmt.Errorf("%w: %s", ErrNotLocal, p)
		}
	}
	return nil
}

// Members returns every member of group this node knows, on any node, in
// no particular order, a process once per join (pg:get_members). It is a
// local read: no network and not the scope's lock, only a sync.Map load
// and a copy. Nil if the group has no members.
func (s *Scope) Members(group string) []node.PID {
	if v := s.view(group); v != nil {
		return slices.Clone(v.all)
	}
	return nil
}

// LocalMembers returns the members of group on this node
// (pg:get_local_members); a local read like Members.
func (s *Scope) LocalMembers(group string) []node.PID {
	if v := s.view(group); v != nil && len(v.local) > 0 {
		return slices.Clone(v.local)
	}
	return nil
}

// Closest returns a member of group, preferring one on this node
// (pg's get_closest_pid): a random local member if there is one, else a
// random member. ErrNoMembers if the group is empty.
func (s *Scope) Closest(group string) (node.PID, error) {
	v := s.view(group)
	switch {
	case v == nil:
		return node.PID{}, fmt.Errorf("%w: %q", ErrNoMembers, group)
	case len(v.local) > 0:
		return v.local[rand.IntN(len(v.local))], nil
	}
	return v.all[rand.IntN(len(v.all))], nil
}

// WhichGroups lists the groups with at least one member, sorted
// (pg:which_groups).
func (s *Scope) WhichGroups() []string {
	var out []string
	s.groups.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	sort.Strings(out)
	return out
}

// WhichLocalGroups lists the groups with at least one member on this
// node, sorted (pg:which_local_groups).
func (s *Scope) WhichLocalGroups() []string {
	var out []string
	s.groups.Range(func(k, v any) bool {
		if len(v.(*groupView).local) > 0 {
			out = append(out, k.(string))
		}
		return true
	})
	sort.Strings(out)
	return out
}

// GroupInfo is a group's size as this node sees it.
type GroupInfo struct {
	Name    string `json:"name"`
	Members int    `json:"members"` // every member, a process once per join
	Local   int    `json:"local"`   // members on this node
}

// Groups lists every group with its sizes, sorted by name (for listings
// such as an admin API).
func (s *Scope) Groups() []GroupInfo {
	var out []GroupInfo
	s.groups.Range(func(k, v any) bool {
		gv := v.(*groupView)
		out = append(out, GroupInfo{Name: k.(string), Members: len(gv.all), Local: len(gv.local)})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Monitor subscribes to group's joins and leaves (pg:monitor/2): the
// subscription's Members holds the group's members when it began, and C
// every change after that. ErrBadGroup, ErrClosed.
func (s *Scope) Monitor(group string) (*Subscription, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	return s.subscribe(group, false)
}

// MonitorScope subscribes to the joins and leaves of every group of the
// scope (pg:monitor_scope): Members holds every group when it began.
func (s *Scope) MonitorScope() (*Subscription, error) { return s.subscribe("", true) }

func (s *Scope) subscribe(group string, whole bool) (*Subscription, error) {
	sub := lossy.New(s.cfg.EventBuffer, eventDropped)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%w: %s", ErrClosed, s.cfg.Scope)
	}
	s.subs.add(group, sub, whole)
	w := &Subscription{C: sub.C(), Members: s.snapshotLocked(group, whole)}
	w.cancel = func() {
		s.mu.Lock()
		s.subs.remove(group, sub, whole)
		s.mu.Unlock()
		sub.Close()
	}
	return w, nil
}

// snapshotLocked copies one group's members, or every group's.
func (s *Scope) snapshotLocked(group string, whole bool) map[string][]node.PID {
	out := map[string][]node.PID{}
	if !whole {
		if m := s.Members(group); m != nil {
			out[group] = m
		}
		return out
	}
	s.groups.Range(func(k, v any) bool {
		out[k.(string)] = slices.Clone(v.(*groupView).all)
		return true
	})
	return out
}

// Peers lists the nodes whose scope this one exchanges members with,
// sorted.
func (s *Scope) Peers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.core.remote))
}

// Stats are a scope's counters.
type Stats struct {
	Groups       int    `json:"groups"`        // groups with members
	LocalMembers int    `json:"local_members"` // local processes that are members
	Peers        int    `json:"peers"`         // scopes exchanged with
	Received     uint64 `json:"received"`      // messages from peer scopes
	Sent         uint64 `json:"sent"`          // messages to peer scopes
	BadMessages  uint64 `json:"bad_messages"`  // messages that did not decode
	Ignored      uint64 `json:"ignored"`       // messages from scopes not exchanged with (hidden nodes, stale)
	SendErrors   uint64 `json:"send_errors"`   // messages that could not be handed to the transport
}

// Stats returns a snapshot of the scope's counters.
func (s *Scope) Stats() Stats {
	s.mu.Lock()
	st := Stats{LocalMembers: len(s.core.local), Peers: len(s.core.remote)}
	s.mu.Unlock()
	st.Groups = len(s.WhichGroups())
	st.Received, st.Sent = s.stats.received.Load(), s.stats.sent.Load()
	st.BadMessages, st.Ignored = s.stats.bad.Load(), s.stats.ignored.Load()
	st.SendErrors = s.stats.sendErrors.Load()
	return st
}
