package pg

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/placerhq/placer/node"
)

// BenchConfig configures Bench. Zero values: a zero field means its
// documented default; Bench refuses negative ones with ErrBadConfig.
type BenchConfig struct {
	// Samples is the number of joins timed, and of call round trips timed
	// between them. Default 200.
	Samples int
	// Group is the group joined; it must be unused. Default "pg.bench".
	Group string
	// Timeout bounds the wait for one join to become visible. Default 10 s.
	Timeout time.Duration
}

// BenchResult holds Bench's figures (field names as in placer bench
// cluster's JSON).
type BenchResult struct {
	// JoinVisibleP50us: from Join on the first node until every other
	// node's Members shows the member, median, in µs.
	JoinVisibleP50us float64 `json:"group_join_visible_p50_us"`
	JoinVisibleP99us float64 `json:"group_join_visible_p99_us"`
	// MembersP50us: one Members read of a group with one member per node,
	// median of batches, in µs.
	MembersP50us float64 `json:"group_members_p50_us"`
	// CallP50us: a node call round trip from the first node to a process
	// on the second, measured interleaved with the joins, in µs.
	CallP50us float64 `json:"call_p50_us"`
	// JoinVisibleRatio is JoinVisibleP50us / CallP50us (target <= 3).
	JoinVisibleRatio float64 `json:"group_join_visible_call_ratio"`
}

// Bench measures join visibility and Members latency on scopes (the same
// scope on two or more connected nodes; scopes[0] joins, the others
// watch) with a node call round trip as the baseline, measured in the same
// run. It needs the built-in echo kind on scopes[1]'s node. It leaves the
// group empty again.
func Bench(ctx context.Context, scopes []*Scope, cfg BenchConfig) (BenchResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return BenchResult{}, err
	}
	if len(scopes) < 2 {
		return BenchResult{}, fmt.Errorf("%w: bench needs two scopes or more", ErrBadConfig)
	}
	b, err := newBencher(ctx, scopes, cfg)
	if err != nil {
		return BenchResult{}, err
	}
	defer b.close()
	return b.run(ctx)
}

func (c BenchConfig) withDefaults() BenchConfig {
	if c.Samples == 0 {
		c.Samples = 200
	}
	if c.Group == "" {
		c.Group = "pg.bench"
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	return c
}

func (c BenchConfig) validate() error {
	if c.Samples < 0 || c.Timeout < 0 {
		return fmt.Errorf("%w: BenchConfig: Samples %d and Timeout %v must not be negative (0 = default)", ErrBadConfig, c.Samples, c.Timeout)
	}
	if err := checkGroup(c.Group); err != nil {
		return fmt.Errorf("%w: BenchConfig.Group: %w", ErrBadConfig, err)
	}
	return nil
}

// bencher holds what a run needs: a subscription on every watching scope,
// an echo process to call, and one resident member per node.
type bencher struct {
	cfg      BenchConfig
	scopes   []*Scope
	subs     []*Subscription
	echo     node.PID
	resident []*node.Inbox
}

func newBencher(ctx context.Context, scopes []*Scope, cfg BenchConfig) (*bencher, error) {
	b := &bencher{cfg: cfg, scopes: scopes}
	n0 := scopes[0].Node()
	var err error
	if b.echo, err = n0.SpawnOn(ctx, scopes[1].Node().Self(), "echo", nil, node.SpawnOpts{}); err != nil {
		return nil, err
	}
	for _, s := range scopes[1:] {
		sub, err := s.Monitor(cfg.Group)
		if err != nil {
			b.close()
			return nil, err
		}
		b.subs = append(b.subs, sub)
	}
	return b, nil
}

func (b *bencher) close() {
	for _, sub := range b.subs {
		sub.Cancel()
	}
	for _, ib := range b.resident {
		ib.Close()
	}
	_ = b.scopes[0].Node().Exit(b.echo, node.Reason{Kind: node.Killed})
	_ = b.awaitSize(0) // leave the group empty, as found
}

func (b *bencher) run(ctx context.Context) (BenchResult, error) {
	var joins, calls []time.Duration
	for i := range b.cfg.Samples + b.cfg.Samples/10 { // the first tenth warms up
		call, err := b.callOnce(ctx)
		if err != nil {
			return BenchResult{}, err
		}
		join, err := b.joinOnce()
		if err != nil {
			return BenchResult{}, err
		}
		if i >= b.cfg.Samples/10 {
			calls, joins = append(calls, call), append(joins, join)
		}
	}
	members, err := b.members()
	if err != nil {
		return BenchResult{}, err
	}
	r := BenchResult{
		JoinVisibleP50us: quantileUS(joins, 50), JoinVisibleP99us: quantileUS(joins, 99),
		CallP50us: quantileUS(calls, 50), MembersP50us: members,
	}
	r.JoinVisibleRatio = r.JoinVisibleP50us / r.CallP50us
	return r, nil
}

func (b *bencher) callOnce(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	_, err := b.scopes[0].Node().Call(ctx, b.echo, []byte("ping"))
	return time.Since(t0), err
}

// joinOnce times one join until every watcher saw it, then leaves (not
// timed) and waits until every watcher saw that too.
func (b *bencher) joinOnce() (time.Duration, error) {
	ib, err := b.scopes[0].Node().NewInbox()
	if err != nil {
		return 0, err
	}
	defer ib.Close()
	t0 := time.Now()
	if err := b.scopes[0].Join(b.cfg.Group, ib.Self()); err != nil {
		return 0, err
	}
	if err := b.await(Joined, ib.Self()); err != nil {
		return 0, err
	}
	took := time.Since(t0)
	if err := b.scopes[0].Leave(b.cfg.Group, ib.Self()); err != nil {
		return 0, err
	}
	return took, b.await(Left, ib.Self())
}

// await waits until every watcher's subscription reported kind for pid;
// its Members shows the change by then (views change before events go).
func (b *bencher) await(kind EventKind, pid node.PID) error {
	timer := time.NewTimer(b.cfg.Timeout)
	defer timer.Stop()
	for i, sub := range b.subs {
		for seen := false; !seen; {
			select {
			case ev, ok := <-sub.C:
				if !ok {
					return fmt.Errorf("%w: subscription closed", ErrClosed)
				}
				seen = ev.Kind == kind && slices.Contains(ev.PIDs, pid)
			case <-timer.C:
				return fmt.Errorf("%w: %s of %v not seen on %s", node.ErrTimeout, kind, pid, b.scopes[i+1].Node().Self())
			}
		}
	}
	return nil
}

// members times Members on the last scope, in batches (one read is too
// short for the clock), for a group with one resident member per node.
func (b *bencher) members() (float64, error) {
	var pids []node.PID
	for _, s := range b.scopes {
		ib, err := s.Node().NewInbox()
		if err != nil {
			return 0, err
		}
		b.resident = append(b.resident, ib)
		if err := s.Join(b.cfg.Group, ib.Self()); err != nil {
			return 0, err
		}
		pids = append(pids, ib.Self())
	}
	if err := b.awaitSize(len(pids)); err != nil {
		return 0, err
	}
	const batch = 1000
	s := b.scopes[len(b.scopes)-1]
	var per []time.Duration
	for range 50 {
		t0 := time.Now()
		for range batch {
			if len(s.Members(b.cfg.Group)) != len(pids) {
				return 0, fmt.Errorf("pg bench: Members does not show every resident member")
			}
		}
		per = append(per, time.Since(t0)/batch)
	}
	return quantileUS(per, 50), nil
}

// awaitSize polls until every scope's Members shows n members.
func (b *bencher) awaitSize(n int) error {
	deadline := time.Now().Add(b.cfg.Timeout)
	for _, s := range b.scopes {
		for len(s.Members(b.cfg.Group)) != n {
			if time.Now().After(deadline) {
				return fmt.Errorf("%w: %s does not show %d members", node.ErrTimeout, s.Node().Self(), n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	return nil
}

// quantileUS is the q-th percentile of ds in µs.
func quantileUS(ds []time.Duration, q int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)*q/100, len(s)-1)
	return float64(s[i]) / float64(time.Microsecond)
}
