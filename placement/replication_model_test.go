package placement_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/placementtest"
)

// replModel is the naive model of replicated counters: per key, how many
// incs were acknowledged and how many failed (a failed inc may or may not
// have counted).
type replModel struct {
	acked, failed map[string]int64
	trace         *[]string // the steps so far, for a failure's message
}

// logf logs a step and keeps it for a failure's message (rapid prints the
// replay's log, and a flaky failure's replay is not the failing run).
func (m replModel) logf(rt *rapid.T, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	*m.trace = append(*m.trace, line)
	rt.Log(line)
}

// TestReplicationModel drives a cluster (static views, R = 2) with random
// sequences of writes, joins, graceful leaves and crashes — one crash at
// a time: the next only once every key has its two copies again — and
// checks after every step that each key's count lies between its
// acknowledged incs and those plus its failed ones: no acknowledged write
// is ever lost.
func TestReplicationModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c, err := placementtest.Start(context.Background(), placementtest.Options{Nodes: 3, Configure: func(_ int, cfg *placement.Config) {
			cfg.KindSpecs = map[string]placement.KindSpec{kindCounter: {Replicas: 2}}
		}})
		if err != nil {
			rt.Fatal(err)
		}
		defer c.Close()
		m := replModel{acked: map[string]int64{}, failed: map[string]int64{}, trace: new([]string)}
		keys := placementtest.KeyNames(12)
		for step := range rapid.IntRange(5, 25).Draw(rt, "steps") {
			switch op := rapid.SampledFrom([]string{"write", "write", "write", "crash", "join", "leave"}).Draw(rt, "op"); op {
			case "write":
				m.write(rt, c, rapid.SampledFrom(keys).Draw(rt, "key"))
			case "crash":
				m.crash(rt, c, keys)
			case "join":
				if len(c.Nodes()) < 5 {
					p, err := c.Add()
					if err != nil {
						rt.Fatal(err)
					}
					m.logf(rt, "join %s", p.Name())
				}
			case "leave":
				if len(c.Nodes()) > 2 {
					p := c.Nodes()[rapid.IntRange(0, len(c.Nodes())-1).Draw(rt, "leaver")]
					m.logf(rt, "leave %s", p.Name())
					if err := c.Leave(context.Background(), p); err != nil {
						rt.Fatalf("step %d: leave %s: %v", step, p.Name(), err)
					}
				}
			}
			m.check(rt, c, keys)
		}
	})
}

func (m replModel) write(rt *rapid.T, c *placementtest.Cluster, key string) {
	p := c.Nodes()[rapid.IntRange(0, len(c.Nodes())-1).Draw(rt, "via")]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Call(ctx, kindCounter, key, []byte("inc")); err != nil {
		m.failed[key]++
		m.logf(rt, "inc %s via %s failed: %v", key, p.Name(), err)
		return
	}
	m.acked[key]++
	m.logf(rt, "inc %s via %s (owner %s): %d acknowledged", key, p.Name(), p.Owner(key), m.acked[key])
}

// crash crashes a node once every written key has its two copies.
func (m replModel) crash(rt *rapid.T, c *placementtest.Cluster, keys []string) {
	if len(c.Nodes()) < 3 {
		return
	}
	if err := placementtest.WaitFor(context.Background(), 10*time.Second, func() error { return m.copies(c, 2) }); err != nil {
		rt.Fatalf("before a crash: %v", err)
	}
	victim := c.Nodes()[rapid.IntRange(0, len(c.Nodes())-1).Draw(rt, "victim")]
	m.logf(rt, "crash %s", victim.Name())
	if err := c.Crash(victim); err != nil {
		rt.Fatal(err)
	}
}

// copies returns nil once every key written so far has want copies (a
// hosted process or passive entry, and backups) on the live nodes.
func (m replModel) copies(c *placementtest.Cluster, want int) error {
	n := map[string]int{}
	for _, p := range c.Nodes() {
		for _, h := range append(p.Hosted(), p.Backups()...) {
			n[h.Key]++
		}
	}
	for k := range m.acked {
		if n[k] < want {
			return fmt.Errorf("%s has %d copies, want %d", k, n[k], want)
		}
	}
	return nil
}

// check reads every written key and compares it with the model.
func (m replModel) check(rt *rapid.T, c *placementtest.Cluster, keys []string) {
	for _, k := range keys {
		if m.acked[k]+m.failed[k] == 0 {
			continue
		}
		var st counterState
		err := placementtest.WaitFor(context.Background(), 10*time.Second, func() error {
			var err error
			st, err = getState(context.Background(), c.Node(0), kindCounter, k)
			return err
		})
		if err != nil {
			rt.Fatalf("%s unreadable: %v; copies: %s; %s; steps:\n%s", k, err, copiesOf(c, k), statsOf(c), strings.Join(*m.trace, "\n"))
		}
		if st.Count < m.acked[k] || st.Count > m.acked[k]+m.failed[k] {
			rt.Fatalf("%s: count %d, %d incs acknowledged and %d failed; copies: %s; %s; steps:\n%s", k, st.Count, m.acked[k], m.failed[k], copiesOf(c, k), statsOf(c), strings.Join(*m.trace, "\n"))
		}
	}
}

// copiesOf describes every copy of key on the live nodes.
func copiesOf(c *placementtest.Cluster, key string) string {
	out := ""
	for _, p := range c.Nodes() {
		for _, h := range append(p.Hosted(), p.Backups()...) {
			if h.Key == key {
				out += fmt.Sprintf("[%s %s %s term %d seq %d owner %s] ", p.Name(), h.Role, h.State, h.Term, h.Seq, p.Owner(key))
			}
		}
	}
	return out
}

// statsOf sums the counters that tell how the copies came about.
func statsOf(c *placementtest.Cluster) string {
	var st placement.Stats
	for _, p := range c.Nodes() {
		s := p.Stats()
		st.Spawned += s.Spawned
		st.Imported += s.Imported
		st.HandoffsFailed += s.HandoffsFailed
		st.ReplPromotions += s.ReplPromotions
		st.Conflicts += s.Conflicts
	}
	return fmt.Sprintf("live nodes: spawned %d, imported %d, handoffs failed %d, promotions %d, conflicts %d",
		st.Spawned, st.Imported, st.HandoffsFailed, st.ReplPromotions, st.Conflicts)
}
