package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/par"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/membership"
)

// errClusterTimeout: a cluster phase did not reach its state in time.
var errClusterTimeout = errors.New("bench: cluster did not settle in time")

// clusterKind is the stateful keyed process of the cluster benchmark.
const clusterKind = "bench.counter"

// clusterState is what a bench counter holds: where it was born (a fresh
// start has a new Born; a handoff keeps it) and how many messages and
// "inc" calls it counted.
type clusterState struct {
	Born  string `json:"born"`
	Count int64  `json:"count"`
}

type clusterCounter struct {
	node.Base
	st clusterState
}

func (b *clusterCounter) Init(p *node.Proc, _ []byte) error {
	b.st.Born = p.Self().String()
	return nil
}

func (b *clusterCounter) HandleMessage(_ *node.Proc, m node.Msg) {
	if _, ok := m.(node.Message); ok {
		b.st.Count++
	}
}

// HandleCall: "inc" counts; anything else reads the state (JSON).
func (b *clusterCounter) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if string(req) == "inc" {
		b.st.Count++
	}
	return json.Marshal(b.st)
}

func (b *clusterCounter) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(b.st) }

func (b *clusterCounter) ImportState(_ *node.Proc, s []byte) error { return json.Unmarshal(s, &b.st) }

// clusterNet is one in-process cluster: nodes on TCP 127.0.0.1 with Serf
// (local profile) through a FaultNet, so that the heal phase can cut
// gossip between two sides.
type clusterNet struct {
	cfg    ClusterConfig
	cookie []byte
	fn     *membership.FaultNet
	nodes  []*placement.Cluster
}

// startClusterNet starts n nodes and waits until their views agree.
func startClusterNet(ctx context.Context, cfg ClusterConfig, n int) (*clusterNet, error) {
	b := &clusterNet{cfg: cfg, cookie: make([]byte, 32), fn: membership.NewFaultNet(zerolog.Nop())}
	if _, err := rand.Read(b.cookie); err != nil {
		return nil, err
	}
	for range n {
		if _, err := b.add(); err != nil {
			b.close()
			return nil, err
		}
	}
	if err := b.waitConverged(ctx, b.nodes, 20*time.Second); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// add starts one more node, joining the first.
func (b *clusterNet) add() (*placement.Cluster, error) {
	cfg := placement.DefaultConfig()
	cfg.Name = fmt.Sprintf("bench%d@127.0.0.1", len(b.nodes)+1)
	cfg.Cookie = b.cookie
	cfg.Kinds = map[string]node.KindFactory{clusterKind: func() node.Behavior { return &clusterCounter{} }}
	cfg.Node.MailboxSize = 1 << 14
	cfg.ReconcileInterval = 200 * time.Millisecond
	cfg.Membership.Profile = membership.ProfileLocal
	cfg.Membership.ReconcileInterval = 200 * time.Millisecond
	cfg.Membership.RetryJoinInterval = 100 * time.Millisecond
	tr, err := b.fn.NewTransport("127.0.0.1", 0)
	if err != nil {
		return nil, err
	}
	cfg.Membership.Transport = tr
	if len(b.nodes) > 0 {
		cfg.Membership.Join = []string{b.nodes[0].Membership().GossipAddr()}
	}
	c, err := placement.Start(cfg)
	if err != nil {
		return nil, err
	}
	b.nodes = append(b.nodes, c)
	return c, nil
}

// close stops every node (without a leave).
func (b *clusterNet) close() {
	var wg sync.WaitGroup
	for _, c := range b.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Close()
		}()
	}
	wg.Wait()
}

// clusterWait polls cond until it holds, ctx ends or timeout passes.
func clusterWait(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	err := poll.Until(ctx, timeout, poll.Cond(cond, func() string { return what }))
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("%w: %w", errClusterTimeout, err)
	}
	return err
}

// waitConverged waits until every node in cs has a view of exactly cs, all
// with one checksum.
func (b *clusterNet) waitConverged(ctx context.Context, cs []*placement.Cluster, timeout time.Duration) error {
	return clusterWait(ctx, timeout, fmt.Sprintf("views of %d nodes", len(cs)), func() bool {
		sum := cs[0].View().Checksum
		for _, c := range cs {
			if v := c.View(); len(v.Members) != len(cs) || v.Checksum != sum {
				return false
			}
		}
		return true
	})
}

// clusterHosts returns, per key, the nodes hosting it, and whether every hosted
// entry is active on its owner.
func clusterHosts(cs []*placement.Cluster) (map[string][]string, bool) {
	out := map[string][]string{}
	clean := true
	for _, c := range cs {
		for _, h := range c.Hosted() {
			out[h.Key] = append(out[h.Key], c.Name())
			if h.State != "active" || c.Owner(h.Key) != c.Name() {
				clean = false
			}
		}
	}
	return out, clean
}

// clusterSettled reports whether each of keys keys lives on exactly one node of
// cs, active, on its owner.
func clusterSettled(cs []*placement.Cluster, keys int) bool {
	m, clean := clusterHosts(cs)
	if !clean || len(m) != keys {
		return false
	}
	for _, h := range m {
		if len(h) != 1 {
			return false
		}
	}
	return true
}

// clusterDuplicates counts the keys hosted on more than one node.
func clusterDuplicates(cs []*placement.Cluster) int {
	m, _ := clusterHosts(cs)
	n := 0
	for _, h := range m {
		if len(h) > 1 {
			n++
		}
	}
	return n
}

func clusterKey(i int) string { return fmt.Sprintf("key-%06d", i) }

// clusterForKeys runs f for each key index on 16 goroutines, through node
// i % len(cs), and returns the first error.
func clusterForKeys(ctx context.Context, cs []*placement.Cluster, keys int, f func(c *placement.Cluster, i int) error) error {
	return par.ForEach(ctx, keys, 16, func(i int) error { return f(cs[i%len(cs)], i) })
}

// clusterReadState calls a key for its state ("inc" counts, "get" only reads).
func clusterReadState(ctx context.Context, c *placement.Cluster, key, op string) (clusterState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := c.Call(ctx, clusterKind, key, []byte(op))
	if err != nil {
		return clusterState{}, err
	}
	var st clusterState
	return st, json.Unmarshal(out, &st)
}

// clusterCreateKeys starts every key (one "get" each, from all nodes in turn)
// and returns each key's Born.
func clusterCreateKeys(ctx context.Context, cs []*placement.Cluster, keys int) ([]string, error) {
	born := make([]string, keys)
	err := clusterForKeys(ctx, cs, keys, func(c *placement.Cluster, i int) error {
		st, err := clusterReadState(ctx, c, clusterKey(i), "get")
		born[i] = st.Born
		return err
	})
	return born, err
}
