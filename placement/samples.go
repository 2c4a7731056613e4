package placement

import (
	"context"
	"sync"
	"time"
)

// RPCSamples returns this node's recent per-second figures, or with all
// every alive member's ([]NodeSamples): the dashboard's sparklines.
const RPCSamples = "placer.samples"

// sampleInterval and sampleKeep: one sample a second, the last two
// minutes kept.
const (
	sampleInterval = time.Second
	sampleKeep     = 120
)

// Sample is one second of a node's figures, from its own counters.
type Sample struct {
	Time             time.Time `json:"time"`
	MsgsPerS         float64   `json:"msgs_per_s"`  // routed requests received per second
	CallsPerS        float64   `json:"calls_per_s"` // keyed calls made here per second
	CallP99MS        float64   `json:"call_p99_ms"` // their p99 (bucket bound), 0 without calls
	Hosted           int       `json:"hosted"`      // keys hosted here: processes, live or passivated (their primaries)
	Backups          int       `json:"backups"`     // backup copies kept here for primaries elsewhere
	Mailbox          int       `json:"mailbox"`     // messages queued in all mailboxes
	MailboxMax       int       `json:"mailbox_max"` // in the deepest one
	HandoffsInFlight int       `json:"handoffs_in_flight"`
	HandoffsQueued   int       `json:"handoffs_queued"`
}

// NodeSamples are one node's recent samples, oldest first.
type NodeSamples struct {
	Node    string   `json:"node"`
	Samples []Sample `json:"samples"`
	Error   string   `json:"error,omitempty"`
}

// sampler keeps the last sampleKeep samples. Its loop is the only writer.
type sampler struct {
	mu      sync.Mutex // guards samples
	samples []Sample
	// owned by the loop:
	lastAt     time.Time
	lastRouted uint64
	lastLat    [latencyBuckets]uint64
}

func newSampler() *sampler { return &sampler{} }

// sampleLoop samples this node every second until shutdown.
func (c *Cluster) sampleLoop() {
	t := time.NewTicker(sampleInterval)
	defer t.Stop()
	c.sample(time.Now())
	for {
		select {
		case now := <-t.C:
			c.sample(now)
		case <-c.ctx.Done():
			return
		}
	}
}

// sample records one Sample.
func (c *Cluster) sample(now time.Time) {
	h := c.hist
	st := c.Stats()
	lat := c.calls.snapshot()
	s := Sample{Time: now, Hosted: st.Hosted, Backups: st.ReplBackups, HandoffsInFlight: st.HandoffsInFlight, HandoffsQueued: st.HandoffsQueued}
	s.Mailbox, s.MailboxMax = c.node.MailboxDepth()
	if !h.lastAt.IsZero() {
		secs := now.Sub(h.lastAt).Seconds()
		p99, n := quantile(h.lastLat, lat, 0.99)
		s.MsgsPerS, s.CallsPerS = float64(st.Routed-h.lastRouted)/secs, float64(n)/secs
		s.CallP99MS = float64(p99) / float64(time.Millisecond)
	}
	h.lastAt, h.lastRouted, h.lastLat = now, st.Routed, lat
	h.mu.Lock()
	h.samples = append(h.samples, s)
	if len(h.samples) > sampleKeep {
		h.samples = append(h.samples[:0], h.samples[len(h.samples)-sampleKeep:]...)
	}
	h.mu.Unlock()
}

// Samples returns this node's recent samples, oldest first.
func (c *Cluster) Samples() NodeSamples {
	c.hist.mu.Lock()
	defer c.hist.mu.Unlock()
	return NodeSamples{Node: c.self, Samples: append([]Sample{}, c.hist.samples...)}
}

// samplesRPC answers RPCSamples.
func (c *Cluster) samplesRPC(ctx context.Context, r adminReq) ([]NodeSamples, error) {
	own := c.Samples()
	if !r.All {
		return []NodeSamples{own}, nil
	}
	return fanOut(ctx, c, RPCSamples, r, own, func(n string, _ NodeSamples, err error) NodeSamples {
		return NodeSamples{Node: n, Samples: []Sample{}, Error: errText(err)}
	}), nil
}

// AllSamples returns every alive member's recent samples (this node's
// first).
func (c *Cluster) AllSamples(ctx context.Context) []NodeSamples {
	out, _ := c.samplesRPC(ctx, adminReq{All: true})
	return out
}

// Samples returns every alive member's recent samples, through the agent.
func (cl *Client) Samples(ctx context.Context) ([]NodeSamples, error) {
	return invoke[[]NodeSamples](ctx, cl, RPCSamples, adminReq{All: true}, true)
}
