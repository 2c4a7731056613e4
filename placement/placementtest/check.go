package placementtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/placerhq/placer/internal/par"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
)

// WaitFor polls f until it returns nil, ctx ends or timeout passes; the
// error then names f's last error (what was still missing).
func WaitFor(ctx context.Context, timeout time.Duration, f func() error) error {
	return poll.Until(ctx, timeout, f)
}

// CheckFor fails t unless f returns nil within timeout.
func CheckFor(t poll.TB, timeout time.Duration, f func() error) {
	t.Helper()
	poll.CheckFor(t, timeout, f)
}

// Converged returns nil once every node of cs has a view of exactly want
// members, all with one checksum.
func Converged(cs []*placement.Cluster, want int) error {
	if len(cs) == 0 {
		return errors.New("no nodes")
	}
	sum := cs[0].View().Checksum
	for _, p := range cs {
		if v := p.View(); len(v.Members) != want || v.Checksum != sum {
			return fmt.Errorf("views of %d members did not converge: %v", want, viewSummary(cs))
		}
	}
	return nil
}

func viewSummary(cs []*placement.Cluster) []string {
	var out []string
	for _, p := range cs {
		v := p.View()
		names := make([]string, len(v.Members))
		for i, m := range v.Members {
			names[i] = m.Name
		}
		out = append(out, fmt.Sprintf("%s:%04x%v", p.Name(), v.Checksum&0xffff, names))
	}
	return out
}

// HostMap returns, for every key of kind ("" for every kind) hosted by a
// node of cs, the names of the nodes hosting it, sorted.
func HostMap(cs []*placement.Cluster, kind string) map[string][]string {
	out := map[string][]string{}
	for _, p := range cs {
		for _, h := range p.Hosted() {
			if kind == "" || h.Kind == kind {
				out[h.Key] = append(out[h.Key], p.Name())
			}
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// Duplicates counts the keys of kind hosted on more than one node of cs.
func Duplicates(cs []*placement.Cluster, kind string) int {
	n := 0
	for _, hosts := range HostMap(cs, kind) {
		if len(hosts) > 1 {
			n++
		}
	}
	return n
}

// Settled returns nil once every key of kind ("" for every kind) hosted
// by cs is hosted exactly once, active (or passivated), by its owner, and no node has a
// handoff queued or running; otherwise it names the first thing that is
// not so.
func Settled(cs []*placement.Cluster, kind string) error {
	for _, p := range cs {
		if st := p.Stats(); st.HandoffsQueued > 0 || st.HandoffsInFlight > 0 {
			return fmt.Errorf("%s has %d handoffs queued, %d running", p.Name(), st.HandoffsQueued, st.HandoffsInFlight)
		}
		for _, h := range p.Hosted() {
			if (kind == "" || h.Kind == kind) && ((h.State != placement.StateActive && h.State != placement.StatePassive) || p.Owner(h.Key) != p.Name()) {
				return fmt.Errorf("%s hosts %s %s %s, owner %s", p.Name(), h.Kind, h.Key, h.State, p.Owner(h.Key))
			}
		}
	}
	hm := HostMap(cs, kind)
	keys := make([]string, 0, len(hm))
	for k := range hm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(hm[k]) != 1 {
			return fmt.Errorf("%s hosted on %v", k, hm[k])
		}
	}
	return nil
}

// recordConflict keeps the exported state of every copy that lost a
// conflict (placement.Config.Conflict).
func (c *Cluster) recordConflict(cf placement.Conflict) {
	var st CounterState
	if cf.Exported {
		if err := json.Unmarshal(cf.State, &st); err != nil {
			st.Born = "undecodable: " + err.Error()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost == nil {
		c.lost = map[string][]CounterState{}
	}
	c.lost[cf.Key] = append(c.lost[cf.Key], st)
}

// LostStates returns the Counter states of key's copies that lost a
// conflict (a key that ran twice, after a partition or a false failure).
func (c *Cluster) LostStates(key string) []CounterState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lost[key])
}

// Conflicts is how many conflicts were resolved.
func (c *Cluster) Conflicts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lost {
		n += len(l)
	}
	return n
}

// FalseFailures counts, over the live nodes, the members each saw fail and
// come back (membership's Heals). Where no node was crashed or cut off,
// each is a live member declared failed, e.g. one stalled past the local
// profile's ~0.7 s failure detection on a loaded machine.
func (c *Cluster) FalseFailures() uint64 {
	var n uint64
	for _, p := range c.Nodes() {
		if m := p.Membership(); m != nil {
			n += m.Stats().Heals
		}
	}
	return n
}

func forEach(ctx context.Context, n int, f func(i int) error) error {
	return par.ForEach(ctx, n, 16, f)
}
