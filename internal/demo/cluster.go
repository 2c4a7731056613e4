package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/placement/placementtest"
)

// demo is one run of the walk-through: the cluster it started and what it
// measured. Its fields belong to the caller's goroutine. Other goroutines:
// the placement callbacks (conflicts, events), which touch only the
// conflict log and each node's ready pointer; and the workers of demoForEach and
// the traffic senders, which read the node list and write disjoint entries
// of expect, and which the step that starts them waits for.
type demo struct {
	o      Options
	w      io.Writer // the narration (io.Discard with --quiet or --json)
	log    zerolog.Logger
	cookie []byte                 // never printed
	h      *placementtest.Cluster // the in-process cluster: TCP and Serf through cuttable networks

	nodes     []*demoNode // live cluster nodes, node1 first
	shell     *node.Inbox // node1's :net_kernel.monitor_nodes(true) inbox
	expect    []int       // items each todo list holds; nil until created
	conflicts demoConflictLog

	figs      []demoFigure
	stepMS    map[string]float64
	t0        time.Time
	cleanupMS float64
	totalMS   float64
	closed    bool
}

// demoNode is one placement node of the demo cluster, with its global
// names and locks and its process-group scope.
type demoNode struct {
	name   string
	c      *placement.Cluster
	g      *global.Service
	groups *pg.Scope
	ready  atomic.Pointer[placement.Cluster] // c, for the conflict callback's goroutine
}

func newDemo(o Options, stdout, stderr io.Writer) (*demo, error) {
	d := &demo{o: o, w: stdout, log: zerolog.Nop(), stepMS: map[string]float64{}, t0: time.Now()}
	if o.Quiet || o.JSON {
		d.w = io.Discard
	}
	if o.LogLevel != "" {
		lvl, _ := zerolog.ParseLevel(o.LogLevel) // validated with the flags
		d.log = zerolog.New(zerolog.ConsoleWriter{Out: zerolog.SyncWriter(stderr), NoColor: true}).Level(lvl).With().Timestamp().Logger()
	}
	d.cookie = o.Cookie
	if d.cookie == nil {
		d.cookie = make([]byte, membership.MinCookieLen)
		if _, err := rand.Read(d.cookie); err != nil {
			return nil, fmt.Errorf("cookie: %w", err)
		}
	}
	h, err := placementtest.Start(context.Background(), placementtest.Options{
		Gossip: true, TCP: true, Prefix: "node", Cookie: d.cookie, Logger: d.log,
	})
	if err != nil {
		return nil, err
	}
	d.h = h
	return d, nil
}

func demoName(i int) string { return fmt.Sprintf("node%d@127.0.0.1", i) }

// nextName is the name the next new node will get.
func (d *demo) nextName() string { return d.h.NextName() }

// setup starts the --nodes nodes, node1's monitor_nodes inbox first, and
// waits until every view holds them all.
func (d *demo) setup(ctx context.Context) error {
	start := time.Now()
	for i := range d.o.Nodes {
		dn, err := d.startNode("", 0, 0)
		if err != nil {
			return err
		}
		if i == 0 {
			if d.shell, err = dn.c.Node().NewInbox(); err != nil {
				return err
			}
			d.shell.MonitorNodes(true, false)
		}
	}
	if err := d.waitViews(ctx, d.nodes); err != nil {
		return err
	}
	d.fig("startup_ms", demoSince(start), "ms", fmt.Sprintf("%d nodes started, every view holds them all", d.o.Nodes))
	d.printNodes(demoSince(start))
	return nil
}

// startNode starts a placement node named name ("" for the next name);
// its transport listens in [portMin, portMax] if portMin > 0. It joins
// node1 unless it is the first.
func (d *demo) startNode(name string, portMin, portMax int) (*demoNode, error) {
	dn := &demoNode{}
	var err error
	if dn.g, err = global.New(global.DefaultConfig()); err != nil {
		return nil, err
	}
	c, err := d.h.AddNamed(name, func(cfg *placement.Config) {
		cfg.Kinds = map[string]node.KindFactory{demoTodoKind: newDemoTodoList}
		cfg.Node.Kinds = map[string]node.KindFactory{demoResponderKind: newDemoResponder, demoServerKind: newDemoServer}
		cfg.VNodes, cfg.HandoffTimeout = placement.DefaultConfig().VNodes, placement.DefaultConfig().HandoffTimeout
		cfg.ReconcileInterval = 200 * time.Millisecond
		cfg.Membership.ReconcileInterval = 200 * time.Millisecond
		cfg.Conflict = dn.mergeConflict
		cfg.Events = d.conflicts.record
		cfg.PortMin, cfg.PortMax = portMin, portMax
		dn.g.Configure(cfg) // after Conflict and Events: it chains them
	})
	if err != nil {
		return nil, err
	}
	dn.name, dn.c = c.Name(), c
	if err := dn.startServices(); err != nil {
		return nil, err
	}
	dn.ready.Store(c)
	d.nodes = append(d.nodes, dn)
	return dn, nil
}

// startServices attaches the global service and starts the pg scope.
func (dn *demoNode) startServices() error {
	if err := dn.g.Start(dn.c); err != nil {
		return err
	}
	var err error
	dn.groups, err = pg.Start(dn.c.Node(), pg.DefaultConfig())
	return err
}

// closeServices stops the scope and the global service (idempotent).
func (dn *demoNode) closeServices() {
	if dn.groups != nil {
		_ = dn.groups.Close()
	}
	_ = dn.g.Close()
}

// node returns the live node named name (nil if none).
func (d *demo) node(name string) *demoNode {
	for _, dn := range d.nodes {
		if dn.name == name {
			return dn
		}
	}
	return nil
}

// newest returns the live node with the highest number, node1 excepted.
func (d *demo) newest() *demoNode {
	best, bestN := d.nodes[len(d.nodes)-1], 0
	for _, dn := range d.nodes[1:] {
		var n int
		if _, err := fmt.Sscanf(dn.name, "node%d@", &n); err == nil && n > bestN {
			best, bestN = dn, n
		}
	}
	return best
}

// remove drops dn from the live nodes (it left or crashed).
func (d *demo) remove(dn *demoNode) {
	d.nodes = slices.DeleteFunc(d.nodes, func(x *demoNode) bool { return x == dn })
}

// crash stops dn the way a crash does: its transport closes first (peers
// see the connections drop: noconnection), its gossip goes silent, then the
// node stops without leaving (Serf marks it failed).
func (d *demo) crash(dn *demoNode) error {
	d.remove(dn)
	err := d.h.Crash(dn.c)
	dn.closeServices()
	return err
}

// demoCloseTimeout bounds the cleanup: a node that has not closed by then is
// reported (and left behind) rather than waited for forever.
const demoCloseTimeout = 20 * time.Second

// close stops everything the demo started and returns how many nodes it
// closed (idempotent), each within demoCloseTimeout.
func (d *demo) close() (int, error) {
	if d.closed {
		return 0, nil
	}
	d.closed = true
	n := len(d.nodes)
	err := demoCloseAll(d.nodes)
	if err == nil {
		err = d.h.Close() // what is left: nodes closed already close at once
	}
	return n, err
}

// demoCloseAll closes the nodes in parallel, waiting at most demoCloseTimeout.
func demoCloseAll(nodes []*demoNode) error {
	var wg sync.WaitGroup
	var pending sync.Map
	for _, dn := range nodes {
		wg.Add(1)
		pending.Store(dn.name, true)
		go func() {
			defer wg.Done()
			dn.closeServices()
			_ = dn.c.Close()
			pending.Delete(dn.name)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(demoCloseTimeout):
	}
	var stuck []string
	pending.Range(func(k, _ any) bool {
		stuck = append(stuck, k.(string))
		return true
	})
	slices.Sort(stuck)
	return fmt.Errorf("%w: cleanup: %v did not close within %v", ErrTimeout, stuck, demoCloseTimeout)
}

// demoClusters returns the placement clusters of nodes.
func demoClusters(nodes []*demoNode) []*placement.Cluster {
	out := make([]*placement.Cluster, len(nodes))
	for i, dn := range nodes {
		out[i] = dn.c
	}
	return out
}

func demoNodeNames(nodes []*demoNode) []string {
	out := make([]string, len(nodes))
	for i, dn := range nodes {
		out[i] = dn.name
	}
	return out
}

// waitFor polls cond every 5 ms until it holds; it fails after the demo's
// timeout or when ctx ends.
func (d *demo) waitFor(ctx context.Context, what string, cond func() bool) error {
	err := poll.Until(ctx, d.o.Timeout, poll.Cond(cond, func() string { return "waiting for " + what }))
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// waitViews waits until every node of group has a view of exactly group,
// all with one checksum.
func (d *demo) waitViews(ctx context.Context, group []*demoNode) error {
	want := demoNodeNames(group)
	slices.Sort(want)
	return d.waitFor(ctx, fmt.Sprintf("views of %v", want), func() bool {
		sum := group[0].c.View().Checksum
		for _, dn := range group {
			v := dn.c.View()
			if v.Checksum != sum || !slices.Equal(demoViewNames(v), want) {
				return false
			}
		}
		return true
	})
}

func demoViewNames(v *placement.View) []string {
	out := make([]string, len(v.Members))
	for i, m := range v.Members {
		out[i] = m.Name
	}
	return out
}

// demoHosts maps each todo list to the nodes hosting it; clean is false if a
// hosted entry is not active on its owner.
func demoHosts(nodes []*demoNode) (m map[string][]string, clean bool) {
	m, clean = map[string][]string{}, true
	for _, dn := range nodes {
		for _, h := range dn.c.Hosted() {
			if h.Kind != demoTodoKind {
				continue
			}
			m[h.Key] = append(m[h.Key], dn.name)
			clean = clean && h.State == "active" && dn.c.Owner(h.Key) == dn.name
		}
	}
	return m, clean
}

// demoSettled reports whether each of the n lists lives on exactly one node,
// active, on its owner.
func demoSettled(nodes []*demoNode, n int) bool {
	m, clean := demoHosts(nodes)
	if !clean || len(m) != n {
		return false
	}
	for _, h := range m {
		if len(h) != 1 {
			return false
		}
	}
	return true
}

// demoDuplicates counts the lists hosted on more than one node.
func demoDuplicates(nodes []*demoNode) int {
	m, _ := demoHosts(nodes)
	n := 0
	for _, h := range m {
		if len(h) > 1 {
			n++
		}
	}
	return n
}

// mergeConflict is the demo's placement.Config.Conflict: at a heal, the
// winner's process gets the loser's items in a merge message, so that no
// write of either side is lost. It runs on the placement events goroutine.
func (dn *demoNode) mergeConflict(cf placement.Conflict) {
	c := dn.ready.Load()
	if c == nil || !cf.Exported {
		return
	}
	st, err := node.Decode[demoTodoState](c.Node(), cf.State)
	if err != nil {
		return
	}
	_ = node.SendT(c.Node(), cf.WinnerPID, demoTodoReq{Op: "merge", Items: st.Items})
}

// demoConflictLog counts EventConflict events and keeps the first few.
type demoConflictLog struct {
	mu      sync.Mutex // guards n and samples
	n       int
	samples []placement.Event
}

// record is placement.Config.Events (on each node's events goroutine).
func (l *demoConflictLog) record(e placement.Event) {
	if e.Type != placement.EventConflict || e.Kind != demoTodoKind {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.samples) < 3 {
		l.samples = append(l.samples, e)
	}
}

// take returns the count and samples so far and resets them.
func (l *demoConflictLog) take() (int, []placement.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, s := l.n, l.samples
	l.n, l.samples = 0, nil
	return n, s
}
