package placement

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/leakcheck"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/transport"
	"github.com/placerhq/placer/transport/memnet"
)

// TestMain checks that no goroutine outlives the tests (leakcheck polls:
// Serf and memberlist end some of theirs after Shutdown).
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 10*time.Second)) }

// waitFor polls cond every 5 ms until it holds, failing t after timeout.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testLogger() zerolog.Logger {
	if os.Getenv("PLACEMENT_DEBUG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
}

var testCookie = []byte("placement-test-cookie-0123456789abcdef")

// Test kinds: "counter" counts messages and exports its state; "plain"
// counts too but does not export (it restarts fresh on a handoff).
const (
	kindCounter = "counter"
	kindPlain   = "plain"
)

// counterState is what a counter holds: where it was born (a fresh start
// gets a new Born), how many messages it handled, and per sender the last
// sequence number seen, to detect reordering.
type counterState struct {
	Born     string           `json:"born"`
	Count    int64            `json:"count"`
	Last     map[string]int64 `json:"last"`
	Disorder int64            `json:"disorder"`
}

type plainCounter struct {
	node.Base
	st counterState
}

func (c *plainCounter) Init(p *node.Proc, _ []byte) error {
	c.st = counterState{Born: p.Self().String(), Last: map[string]int64{}}
	return nil
}

// HandleMessage counts "sender seq" messages, and answers "ping" with
// "pong" to the sender.
func (c *plainCounter) HandleMessage(p *node.Proc, m node.Msg) {
	msg, ok := m.(node.Message)
	if !ok {
		return
	}
	if string(msg.Payload) == "ping" {
		_ = p.Send(msg.From, []byte("pong"))
		return
	}
	c.st.Count++
	sender, seqText, ok := strings.Cut(string(msg.Payload), " ")
	if !ok {
		return
	}
	seq, _ := strconv.ParseInt(seqText, 10, 64)
	if seq <= c.st.Last[sender] {
		c.st.Disorder++
	}
	c.st.Last[sender] = seq
}

// HandleCall: "get" returns the state as JSON; "inc" counts and returns
// the count.
func (c *plainCounter) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if string(req) == "inc" {
		c.st.Count++
		return []byte(strconv.FormatInt(c.st.Count, 10)), nil
	}
	return json.Marshal(c.st)
}

type counter struct{ plainCounter }

func (c *counter) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(c.st) }

func (c *counter) ImportState(_ *node.Proc, b []byte) error { return json.Unmarshal(b, &c.st) }

func testKinds() map[string]node.KindFactory {
	return map[string]node.KindFactory{
		kindCounter: func() node.Behavior { return &counter{} },
		kindPlain:   func() node.Behavior { return &plainCounter{} },
	}
}

// getState reads a key's counter state through c.
func getState(ctx context.Context, c *Cluster, kind, key string) (counterState, error) {
	out, err := c.Call(ctx, kind, key, []byte("get"))
	if err != nil {
		return counterState{}, err
	}
	var st counterState
	return st, json.Unmarshal(out, &st)
}

// memnetFactory makes node transports on net.
func memnetFactory(net *memnet.Network, cookie []byte) node.TransportFactory {
	return func(p node.TransportParams, h transport.Handler) (transport.Transport, error) {
		ec := memnet.DefaultEndpointConfig()
		ec.Name, ec.Cookie, ec.CookieFor, ec.Creation = p.Name, cookie, p.CookieFor, p.Creation
		return net.Listen(ec, h)
	}
}

// testCluster is a set of cluster nodes in this process on one memnet
// network: with static views (no Serf) or with real Serf on loopback
// (local profile) through a FaultNet.
type testCluster struct {
	t     testing.TB
	net   *memnet.Network
	tcp   bool                 // node transport on TCP 127.0.0.1 instead of memnet
	fn    *membership.FaultNet // nil for static views
	mu    sync.Mutex
	nodes []*Cluster
	lost  map[string][]counterState // key -> states of the copies that lost a conflict
}

func newTestCluster(t testing.TB, serf bool) *testCluster {
	tc := &testCluster{t: t, net: memnet.New(memnet.DefaultConfig())}
	if serf {
		tc.fn = membership.NewFaultNet(testLogger())
	}
	return tc
}

// baseConfig is the config every test node starts from.
func (tc *testCluster) baseConfig(name string) Config {
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie = name, testCookie
	if !tc.tcp {
		cfg.Transport = memnetFactory(tc.net, testCookie)
	}
	cfg.Kinds = testKinds()
	cfg.VNodes = 128
	cfg.HandoffTimeout = 3 * time.Second
	cfg.ReconcileInterval = 100 * time.Millisecond
	cfg.Logger = testLogger()
	cfg.Node.MailboxSize = 1 << 14
	cfg.Conflict = tc.recordConflict
	return cfg
}

// recordConflict keeps the state of every copy that lost a conflict, so
// that the tests can account for every message: a duplicate (after a
// member was declared failed while alive, e.g. stalled on a loaded
// machine) holds messages that the surviving copy does not.
func (tc *testCluster) recordConflict(cf Conflict) {
	var st counterState
	if cf.Exported {
		if err := json.Unmarshal(cf.State, &st); err != nil {
			st.Born = "undecodable: " + err.Error()
		}
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.lost == nil {
		tc.lost = map[string][]counterState{}
	}
	tc.lost[cf.Key] = append(tc.lost[cf.Key], st)
}

// lostStates returns the states of key's copies that lost a conflict.
func (tc *testCluster) lostStates(key string) []counterState {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return slices.Clone(tc.lost[key])
}

// conflictCount is how many conflicts were resolved.
func (tc *testCluster) conflictCount() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	n := 0
	for _, l := range tc.lost {
		n += len(l)
	}
	return n
}

// falseFailures counts the members that some node saw fail and come back
// (membership ChangeRejoin): with no node killed or cut off, each is a
// live member declared failed, e.g. stalled past the local profile's
// ~0.7 s detection on a loaded machine.
func (tc *testCluster) falseFailures() uint64 {
	tc.mu.Lock()
	cs := slices.Clone(tc.nodes)
	tc.mu.Unlock()
	var n uint64
	for _, c := range cs {
		if m := c.Membership(); m != nil {
			n += m.Stats().Heals
		}
	}
	return n
}

// start starts a node named name@127.0.0.1; with Serf it joins the first
// node. adjust may change the config. The node is closed at cleanup.
func (tc *testCluster) start(name string, adjust func(*Config)) *Cluster {
	tc.t.Helper()
	cfg := tc.baseConfig(name + "@127.0.0.1")
	if tc.fn == nil {
		cfg.Static = true
	} else {
		tc.serfConfig(&cfg)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := Start(cfg)
	if err != nil {
		tc.t.Fatalf("start %s: %v", name, err)
	}
	tc.t.Cleanup(func() { _ = c.Close() })
	tc.mu.Lock()
	tc.nodes = append(tc.nodes, c)
	tc.mu.Unlock()
	return c
}

func (tc *testCluster) serfConfig(cfg *Config) {
	mc := membership.DefaultConfig()
	mc.Profile = membership.ProfileLocal
	mc.ReconcileInterval = 100 * time.Millisecond
	mc.RetryJoinInterval = 100 * time.Millisecond
	mc.Logger = testLogger()
	tr, err := tc.fn.NewTransport("127.0.0.1", 0)
	if err != nil {
		tc.t.Fatal(err)
	}
	mc.Transport = tr
	tc.mu.Lock()
	if len(tc.nodes) > 0 {
		mc.Join = []string{tc.nodes[0].Membership().GossipAddr()}
	}
	tc.mu.Unlock()
	cfg.Membership = mc
	cfg.JoinTimeout = 5 * time.Second
}

// startN starts n nodes named prefix1..prefixN.
func (tc *testCluster) startN(prefix string, n int, adjust func(*Config)) []*Cluster {
	out := make([]*Cluster, n)
	for i := range n {
		out[i] = tc.start(fmt.Sprintf("%s%d", prefix, i+1), adjust)
	}
	return out
}

// setView gives every node in cs (static views) the view of members.
func setView(cs []*Cluster, members ...*Cluster) {
	var in viewInput
	for _, m := range members {
		in.alive = append(in.alive, m.selfInfo())
	}
	in.quorum = true
	for _, c := range cs {
		c.applyInput(in)
	}
}

// converged waits until every node in cs has a view of exactly want
// members with one checksum.
func converged(t testing.TB, timeout time.Duration, cs []*Cluster, want int) {
	t.Helper()
	waitFor(t, timeout, func() bool {
		sum := cs[0].View().Checksum
		for _, c := range cs {
			if v := c.View(); len(v.Members) != want || v.Checksum != sum {
				return false
			}
		}
		return true
	}, "views of %d members did not converge: %v", want, viewSummary(cs))
}

func viewSummary(cs []*Cluster) []string {
	var out []string
	for _, c := range cs {
		v := c.View()
		names := make([]string, len(v.Members))
		for i, m := range v.Members {
			names[i] = m.Name
		}
		out = append(out, fmt.Sprintf("%s:%x%v", c.Name(), v.Checksum&0xffff, names))
	}
	return out
}

// hostMap returns, for every active hosted key of kind, the nodes hosting it.
func hostMap(cs []*Cluster, kind string) map[string][]string {
	out := map[string][]string{}
	for _, c := range cs {
		for _, h := range c.Hosted() {
			if h.Kind == kind {
				out[h.Key] = append(out[h.Key], c.Name())
			}
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// settled reports whether every key of kind is hosted exactly once, active,
// by its owner, and every node has nothing queued.
func settled(cs []*Cluster, kind string) bool { return unsettled(cs, kind) == "" }

// unsettled describes the first thing that keeps cs from being settled.
func unsettled(cs []*Cluster, kind string) string {
	for _, c := range cs {
		if n := c.queue.len(); n > 0 {
			return fmt.Sprintf("%s has %d pushes queued", c.Name(), n)
		}
		for _, h := range c.Hosted() {
			if h.Kind == kind && (h.State != "active" || c.Owner(h.Key) != c.Name()) {
				return fmt.Sprintf("%s hosts %s %s, owner %s", c.Name(), h.Key, h.State, c.Owner(h.Key))
			}
		}
	}
	for key, hosts := range hostMap(cs, kind) {
		if len(hosts) != 1 {
			return fmt.Sprintf("%s hosted on %v", key, hosts)
		}
	}
	return ""
}

func keyName(i int) string { return fmt.Sprintf("key-%04d", i) }

// traffic sends "sender seq" messages (and every tenth an "inc" call) to
// keys from senders goroutines spread over the nodes in from, until stop;
// it counts per key the sends and calls that returned nil, and the errors.
type traffic struct {
	sent     sync.Map     // key -> *atomic.Int64
	errs     atomic.Int64 // sends and calls that returned an error
	callErrs atomic.Int64 // calls among them (a failed call may or may not have counted)
	total    atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	lastEr   atomic.Value
}

func startTraffic(from []*Cluster, kind string, keys, senders int) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	for s := range senders {
		c := from[s%len(from)]
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tr.run(c, kind, fmt.Sprintf("s%d", s), keys, s)
		}()
	}
	return tr
}

func (tr *traffic) run(c *Cluster, kind, sender string, keys, offset int) {
	ctx := context.Background()
	for seq := int64(1); ; seq++ {
		select {
		case <-tr.stop:
			return
		default:
		}
		key := keyName((int(seq) + offset*7) % keys)
		var err error
		if seq%10 == 0 { // every tenth a call: it counts too, and must not fail
			if _, err = c.Call(ctx, kind, key, []byte("inc")); err != nil {
				tr.callErrs.Add(1)
			}
		} else {
			err = c.Send(ctx, kind, key, []byte(sender+" "+strconv.FormatInt(seq, 10)))
		}
		if err != nil {
			tr.errs.Add(1)
			tr.lastEr.Store(err.Error())
			time.Sleep(time.Millisecond)
			continue
		}
		tr.total.Add(1)
		n, _ := tr.sent.LoadOrStore(key, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if seq%8 == 0 {
			// A few thousand messages a second: enough to cross every
			// handoff, light enough that Serf's local-profile failure
			// detector does not starve on a loaded 2-core machine.
			time.Sleep(time.Millisecond)
		}
	}
}

// flowing waits until n more requests than now have succeeded: the
// traffic is under way (in place of sleeping "to let it start").
func (tr *traffic) flowing(t testing.TB, n int64) {
	t.Helper()
	want := tr.total.Load() + n
	waitFor(t, 10*time.Second, func() bool { return tr.total.Load() >= want }, "traffic: %v", lazy(func() string {
		return fmt.Sprintf("%d of %d requests succeeded (%d errors, last %v)", tr.total.Load(), want, tr.errs.Load(), tr.lastEr.Load())
	}))
}

func (tr *traffic) halt() {
	close(tr.stop)
	tr.wg.Wait()
}

func (tr *traffic) sentTo(key string) int64 {
	if n, ok := tr.sent.Load(key); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// lazy formats as f() when printed: for failure messages computed only
// when a wait times out.
type lazy func() string

func (l lazy) String() string { return l() }

// logStatsOnFailure logs every node's counters at the end of a failed test.
func (tc *testCluster) logStatsOnFailure() {
	t := tc.t
	t.Cleanup(func() {
		if t.Failed() {
			tc.mu.Lock()
			cs := slices.Clone(tc.nodes)
			tc.mu.Unlock()
			for _, c := range cs {
				t.Logf("%s: %+v %+v", c.Name(), c.Stats(), c.Node().Stats())
			}
		}
	})
}
