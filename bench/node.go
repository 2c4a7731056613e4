package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/inproc"
)

// NodeConfig sizes the process-to-process benchmark that `placer bench
// transport` runs after the transport figures. Zero fields take the
// defaults of DefaultNodeConfig; RunNode refuses negative ones with
// ErrBadConfig.
type NodeConfig struct {
	// Messages is the number of 64-byte messages for each of the local and
	// remote send rates. Default 200,000.
	Messages int `json:"messages"`
	// Calls is the number of sequential remote process calls, and as many
	// transport-level calls measured interleaved with them as the baseline.
	// Default 10,000.
	Calls int `json:"calls"`
	// Spawns is the number of spawns for each spawn rate. Default 5,000.
	Spawns int `json:"spawns"`
	// Payload is the message and call payload size in bytes. Default 64.
	Payload int `json:"payload"`
}

// DefaultNodeConfig returns the sizes `placer bench transport` uses.
func DefaultNodeConfig() NodeConfig {
	return NodeConfig{Messages: 200_000, Calls: 10_000, Spawns: 5_000, Payload: 64}
}

func (c NodeConfig) withDefaults() NodeConfig {
	d := DefaultNodeConfig()
	for _, f := range []struct{ v, def *int }{
		{&c.Messages, &d.Messages}, {&c.Calls, &d.Calls}, {&c.Spawns, &d.Spawns}, {&c.Payload, &d.Payload},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return c
}

func (c NodeConfig) validate() error {
	if c.Messages < 0 || c.Calls < 0 || c.Spawns < 0 || c.Payload < 0 {
		return fmt.Errorf("%w: messages %d, calls %d, spawns %d and payload %d must not be negative (0 = default)",
			ErrBadConfig, c.Messages, c.Calls, c.Spawns, c.Payload)
	}
	return nil
}

// NodeFigures are the process-to-process figures of one run, measured
// between two nodes on the real TCP transport over 127.0.0.1. `placer bench
// transport` prints them beside the transport figures.
type NodeFigures struct {
	// ProcLocalSendPerS: messages per second from a caller to a process on
	// the same node (delivered and handled).
	ProcLocalSendPerS float64 `json:"proc_local_send_per_s"`
	// ProcRemoteMsgsPerS: messages per second from one sender to a process
	// on the other node (delivered and handled).
	ProcRemoteMsgsPerS float64 `json:"proc_remote_msgs_per_s"`
	// ProcCallRTTP50us, P99: sequential call round trips to a process on
	// the other node, in µs.
	ProcCallRTTP50us float64 `json:"proc_call_rtt_p50_us"`
	ProcCallRTTP99us float64 `json:"proc_call_rtt_p99_us"`
	// TransportCallRTTP50us, P99: transport-level call round trips (the
	// handler answers on the reader, no process), measured interleaved with
	// the process calls as the target's baseline.
	TransportCallRTTP50us float64 `json:"transport_call_rtt_p50_us"`
	TransportCallRTTP99us float64 `json:"transport_call_rtt_p99_us"`
	// ProcSpawnPerS: local spawns per second (spawn, Init, kill).
	ProcSpawnPerS float64 `json:"proc_spawn_per_s"`
	// ProcRemoteSpawnPerS: sequential remote spawns per second.
	ProcRemoteSpawnPerS float64 `json:"proc_remote_spawn_per_s"`
}

// NodeResult holds the figures of one run, the target checked against
// them and the sizes used.
type NodeResult struct {
	NodeFigures
	// Targets: proc_call_rtt_p50_us <= 1.3 x transport_call_rtt_p50_us.
	Targets []Target   `json:"targets"`
	Config  NodeConfig `json:"config"`
}

// RunNode runs the process-to-process benchmark.
func RunNode(ctx context.Context, cfg NodeConfig) (NodeResult, error) {
	cfg = cfg.withDefaults()
	res := NodeResult{Config: cfg}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	c, err := inproc.Start(2, inproc.Options{Transport: inproc.TCP, Prefix: "bench", Configure: func(_ int, nc *node.Config) {
		nc.Kinds = map[string]node.KindFactory{nodeSinkKind: func() node.Behavior { return nodeSink{} }}
		nc.MailboxSize = 1 << 16
	}})
	if err != nil {
		return res, err
	}
	defer func() { _ = c.Close() }()
	b, err := newNodeBaseline()
	if err != nil {
		return res, err
	}
	defer b.close()
	if err := nodeMeasure(ctx, c, b, cfg, &res); err != nil {
		return res, err
	}
	limit := 1.3 * res.TransportCallRTTP50us
	res.Targets = []Target{{
		Name:  "proc_call_rtt_p50_us <= 1.3 x transport_call_rtt_p50_us",
		Value: res.ProcCallRTTP50us, Limit: limit, Met: res.ProcCallRTTP50us <= limit,
	}}
	return res, nil
}

func nodeMeasure(ctx context.Context, c *inproc.Cluster, b *nodeBaseline, cfg NodeConfig, res *NodeResult) error {
	n1 := c.Node(0)
	ib, err := n1.NewInbox()
	if err != nil {
		return err
	}
	defer ib.Close()
	local, err := n1.Spawn(ctx, nodeSinkKind, nil, node.SpawnOpts{})
	if err != nil {
		return err
	}
	remote, err := n1.SpawnOn(ctx, c.Name(1), nodeSinkKind, nil, node.SpawnOpts{})
	if err != nil {
		return err
	}
	payload := make([]byte, cfg.Payload)
	if res.ProcLocalSendPerS, err = nodeSendRate(ctx, ib, local, cfg.Messages, payload); err != nil {
		return fmt.Errorf("local send: %w", err)
	}
	if res.ProcRemoteMsgsPerS, err = nodeSendRate(ctx, ib, remote, cfg.Messages, payload); err != nil {
		return fmt.Errorf("remote send: %w", err)
	}
	if err := nodeCallRTTs(ctx, ib, remote, b, cfg, res); err != nil {
		return err
	}
	if res.ProcSpawnPerS, err = nodeSpawnRate(ctx, n1, n1.Self(), cfg.Spawns); err != nil {
		return fmt.Errorf("spawn: %w", err)
	}
	if res.ProcRemoteSpawnPerS, err = nodeSpawnRate(ctx, n1, c.Name(1), cfg.Spawns); err != nil {
		return fmt.Errorf("remote spawn: %w", err)
	}
	return nil
}

// nodeSendRate sends n messages to pid and returns the rate at which they were
// handled: a call every window messages paces the sender (the call returns
// only after the process handled every earlier message), so the figure is
// end-to-end and nothing overflows the mailbox.
func nodeSendRate(ctx context.Context, ib *node.Inbox, pid node.PID, n int, payload []byte) (float64, error) {
	const window = 4096
	start := time.Now()
	for i := range n {
		if err := ib.Send(pid, payload); err != nil {
			return 0, err
		}
		if i%window == window-1 || i == n-1 {
			if _, err := ib.Call(ctx, pid, nil); err != nil {
				return 0, err
			}
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// nodeCallRTTs measures process calls and transport-level calls in alternating
// rounds, so that noise from the shared machine hits both alike.
func nodeCallRTTs(ctx context.Context, ib *node.Inbox, pid node.PID, b *nodeBaseline, cfg NodeConfig, res *NodeResult) error {
	const round = 500
	req := make([]byte, cfg.Payload)
	proc := make([]time.Duration, 0, cfg.Calls)
	base := make([]time.Duration, 0, cfg.Calls)
	for len(proc) < cfg.Calls {
		for range min(round, cfg.Calls-len(proc)) {
			start := time.Now()
			if _, err := ib.Call(ctx, pid, req); err != nil {
				return fmt.Errorf("process call: %w", err)
			}
			proc = append(proc, time.Since(start))
			d, err := b.call(ctx, req)
			if err != nil {
				return fmt.Errorf("transport call: %w", err)
			}
			base = append(base, d)
		}
	}
	res.ProcCallRTTP50us, res.ProcCallRTTP99us = nodeQuantileUS(proc, 50), nodeQuantileUS(proc, 99)
	res.TransportCallRTTP50us, res.TransportCallRTTP99us = nodeQuantileUS(base, 50), nodeQuantileUS(base, 99)
	return nil
}

// nodeSpawnRate spawns n sink processes on node one after the other (killing
// each) and returns spawns per second.
func nodeSpawnRate(ctx context.Context, n *node.Node, on string, count int) (float64, error) {
	start := time.Now()
	for range count {
		pid, err := n.SpawnOn(ctx, on, nodeSinkKind, nil, node.SpawnOpts{})
		if err != nil {
			return 0, err
		}
		if err := n.Exit(pid, node.Reason{Kind: node.Killed}); err != nil {
			return 0, err
		}
	}
	return float64(count) / time.Since(start).Seconds(), nil
}

// nodeQuantileUS returns the q-th percentile of ds in µs.
func nodeQuantileUS(ds []time.Duration, q int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)*q/100, len(s)-1)]) / float64(time.Microsecond)
}

const nodeSinkKind = "bench.sink"

// nodeSink handles messages by doing nothing and answers calls with their
// request (the same bytes back as the transport baseline's echo).
type nodeSink struct{ node.Base }

func (nodeSink) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) { return req, nil }
