package membership

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/serf/serf"
)

// Deadlines for polling. They are generous upper limits for a loaded
// 2-core machine running -race, not measurements: the time things take is
// measured by the benchmarks in bench_test.go.
const (
	convergeTimeout = 10 * time.Second
	healTimeout     = 15 * time.Second
)

// detectTimeout is the documented worst-case failure detection time for n
// nodes plus slack for scheduling under -race.
func detectTimeout(t testing.TB, n int) time.Duration {
	tm, err := ProfileTiming(ProfileLocal, n)
	if err != nil {
		t.Fatal(err)
	}
	return tm.FailureWorst + 3*time.Second
}

func TestThreeNodesJoinWithTags(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	seedCfg := c.config("a@127.0.0.1")
	seedCfg.Weight = 3
	seedCfg.Tags = map[string]string{"zone": "z1"}
	seed := c.start(seedCfg)
	views, cancel := seed.Subscribe()
	defer cancel()
	ms := append([]*Membership{seed}, c.start(c.config("b@127.0.0.1")), c.start(c.config("c@127.0.0.1")))
	allSeeAlive(t, convergeTimeout, ms, 3)

	for _, m := range ms {
		got := m.Alive()
		if want := []string{"a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"}; !slices.Equal(names(got), want) {
			t.Fatalf("%s: alive %v, want %v (sorted)", m.Name(), names(got), want)
		}
		a := got[0]
		if a.Weight != 3 || a.ProtocolVersion != 1 || a.TransportAddr != seedCfg.TransportAddr ||
			!maps.Equal(a.Tags, map[string]string{"zone": "z1"}) || a.GossipAddr != seed.GossipAddr() {
			t.Fatalf("%s sees seed as %+v", m.Name(), a)
		}
		if got[1].Weight != 1 || len(got[1].Tags) != 0 {
			t.Fatalf("%s sees b as %+v", m.Name(), got[1])
		}
	}
	// The baseline View already holds the seed itself; b and c follow.
	joins := collectChanges(t, views, func(cs []Change) bool { return countKind(cs, ChangeJoin) >= 2 })
	if got := names(changedMembers(joins, ChangeJoin)); !slices.Equal(got, []string{"b@127.0.0.1", "c@127.0.0.1"}) {
		t.Fatalf("seed subscriber: joins %v, want b and c", got)
	}
	for _, m := range ms[1:] {
		waitFor(t, convergeTimeout, func() bool { return isClosed(m.Joined()) }, "%s not joined", m.Name())
	}
	if st := seed.Stats(); st.Alive != 3 || !st.Encrypted || st.QuorumFull != 3 || !st.QuorumMajority {
		t.Fatalf("stats %+v", st)
	}
}

func TestSetWeightAndTagsPropagate(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("w", 2)
	allSeeAlive(t, convergeTimeout, ms, 2)
	views, cancel := ms[0].Subscribe()
	defer cancel()
	<-views // baseline

	if err := ms[1].SetWeight(5); err != nil {
		t.Fatal(err)
	}
	if err := ms[1].SetTags(map[string]string{"rack": "r9"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, convergeTimeout, func() bool {
		m := ms[0].Alive()[1]
		return m.Weight == 5 && m.Tags["rack"] == "r9"
	}, "weight/tags not seen: %+v", lazy(func() any { return ms[0].Alive() }))
	updates := collectChanges(t, views, func(cs []Change) bool {
		last := lastOf(cs, ChangeUpdate)
		return last != nil && last.Member.Weight == 5 && last.Member.Tags["rack"] == "r9"
	})
	if countKind(updates, ChangeUpdate) == 0 || countKind(updates, ChangeJoin)+countKind(updates, ChangeFailed) != 0 {
		t.Fatalf("changes %v, want only updates", updates)
	}
	if lm := ms[1].LocalMember(); lm.Weight != 5 || lm.Tags["rack"] != "r9" {
		t.Fatalf("local member %+v", lm)
	}
	for _, bad := range []error{ms[1].SetWeight(0), ms[1].SetTags(map[string]string{TagWeight: "9"})} {
		if !errors.Is(bad, ErrInvalidArgument) {
			t.Fatalf("got %v, want ErrInvalidArgument", bad)
		}
	}
}

func TestNonPlacerSerfMemberIgnored(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("p", 2)
	allSeeAlive(t, convergeTimeout, ms, 2)

	stock := startStockSerf(t, c.cookie)
	if _, err := stock.Join([]string{ms[0].GossipAddr()}, true); err != nil {
		t.Fatalf("stock serf with the derived key should join the pool: %v", err)
	}
	waitFor(t, convergeTimeout, func() bool { return ms[1].Stats().NonPlacer == 1 },
		"the stock serf member never reached b: %+v", lazy(func() any { return ms[1].Stats() }))
	for _, m := range ms {
		if got := names(m.Members()); !slices.Equal(got, []string{"p0@127.0.0.1", "p1@127.0.0.1"}) {
			t.Fatalf("%s members %v: the stock serf agent must not be listed", m.Name(), got)
		}
		if m.Stats().SerfMemberCount != 3 {
			t.Fatalf("serf should list 3 members: %+v", m.Stats())
		}
	}
}

// startStockSerf starts a plain Serf (no placer tags) that uses the gossip
// key derived from cookie, as `serf agent -encrypt` would.
func startStockSerf(t *testing.T, cookie []byte) *serf.Serf {
	t.Helper()
	key, err := DeriveGossipKey(cookie)
	if err != nil {
		t.Fatal(err)
	}
	sc := serf.DefaultConfig()
	sc.NodeName = "stock-agent"
	sc.Tags = map[string]string{"role": "web"}
	sc.MemberlistConfig.BindAddr = "127.0.0.1"
	sc.MemberlistConfig.BindPort = 0
	sc.MemberlistConfig.SecretKey = key
	sc.Logger = newStdLogger(testLogger())
	sc.LogOutput = nil
	sc.MemberlistConfig.Logger = sc.Logger
	s, err := serf.Create(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	return s
}

func TestGracefulLeave(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("l", 3)
	allSeeAlive(t, convergeTimeout, ms, 3)
	views, cancel := ms[0].Subscribe()
	defer cancel()
	<-views

	leaver := ms[2]
	ctx, cancelCtx := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelCtx()
	if err := leaver.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		waitFor(t, convergeTimeout, func() bool { return statusOf(m, leaver.Name()) == StatusLeft },
			"%s sees %s as %v, want left", m.Name(), leaver.Name(), lazy(func() any { return statusOf(m, leaver.Name()) }))
		if got := names(m.Alive()); slices.Contains(got, leaver.Name()) {
			t.Fatalf("%s still has the leaver alive: %v", m.Name(), got)
		}
	}
	leaves := collectChanges(t, views, func(cs []Change) bool { return countKind(cs, ChangeLeave) > 0 })
	if countKind(leaves, ChangeFailed) != 0 {
		t.Fatalf("a graceful leave must not be reported as a failure: %v", leaves)
	}
	waitFor(t, convergeTimeout, func() bool { return len(ms[0].Quorum().Full) == 2 },
		"a graceful leave shrinks the full membership: %+v", lazy(func() any { return ms[0].Quorum() }))
	if q := ms[0].Quorum(); !q.Majority || q.Alive != 2 {
		t.Fatalf("quorum after leave %+v", q)
	}
	if _, err := leaver.Join([]string{ms[0].GossipAddr()}); !errors.Is(err, ErrLeft) {
		t.Fatalf("join after leave: %v, want ErrLeft", err)
	}
	if err := leaver.Leave(ctx); err != nil { // idempotent
		t.Fatalf("second leave: %v", err)
	}
}

func TestKillMarkedFailed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("k", 3)
	allSeeAlive(t, convergeTimeout, ms, 3)
	views, cancel := ms[0].Subscribe()
	defer cancel()
	<-views

	victim := ms[2]
	killed := time.Now()
	if err := victim.Shutdown(); err != nil {
		t.Fatal(err)
	}
	bound := detectTimeout(t, 3)
	for _, m := range ms[:2] {
		waitFor(t, bound, func() bool { return statusOf(m, victim.Name()) == StatusFailed },
			"%s sees %s as %v, want failed", m.Name(), victim.Name(), lazy(func() any { return statusOf(m, victim.Name()) }))
	}
	t.Logf("kill seen as failed by both survivors after %v (documented worst %v)",
		time.Since(killed), bound-3*time.Second)
	failed := collectChanges(t, views, func(cs []Change) bool { return countKind(cs, ChangeFailed) > 0 })
	if c := lastOf(failed, ChangeFailed); c.Member.Name != victim.Name() || c.Previous != StatusAlive {
		t.Fatalf("failed change %+v", c)
	}
	q := ms[0].Quorum()
	if len(q.Full) != 3 || q.Alive != 2 || !q.Majority {
		t.Fatalf("a failure must not shrink the full membership: %+v", q)
	}
}

func TestRestartSameNameRejoins(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("r", 2)
	snap := t.TempDir() + "/serf.snapshot"
	port := freePort(t)
	cfg := c.config("r2@127.0.0.1")
	cfg.BindPort = port
	cfg.SnapshotPath = snap
	old := c.start(cfg)
	allSeeAlive(t, convergeTimeout, append(ms, old), 3)
	views, cancel := ms[0].Subscribe()
	defer cancel()
	<-views

	if err := old.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, detectTimeout(t, 3), func() bool { return statusOf(ms[0], cfg.NodeName) == StatusFailed },
		"kill not detected")

	// Same name, same port, no Join list: the snapshot brings it back.
	cfg.Join = nil
	restarted, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restarted.Shutdown() })
	allSeeAlive(t, convergeTimeout, []*Membership{ms[0], ms[1], restarted}, 3)
	cs := collectChanges(t, views, func(cs []Change) bool { return countKind(cs, ChangeRejoin) > 0 })
	if c := lastOf(cs, ChangeRejoin); c.Member.Name != cfg.NodeName || c.Previous != StatusFailed {
		t.Fatalf("rejoin change %+v", c)
	}
	if ms[0].View().Heals == 0 {
		t.Fatal("heal counter did not move")
	}
}

func TestRestartOnNewPortReclaimsName(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("q", 3)
	allSeeAlive(t, convergeTimeout, ms, 3)
	name, oldAddr := ms[2].Name(), ms[2].GossipAddr()
	if err := ms[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, detectTimeout(t, 3), func() bool { return statusOf(ms[0], name) == StatusFailed }, "kill not detected")

	restarted := c.start(c.config(name)) // port 0: a new port; joins ms[0]
	if restarted.GossipAddr() == oldAddr {
		t.Skip("kernel reused the port; nothing to reclaim")
	}
	allSeeAlive(t, convergeTimeout, []*Membership{ms[0], ms[1], restarted}, 3)
	for _, m := range ms[:2] {
		i := slices.IndexFunc(m.Alive(), func(x Member) bool { return x.Name == name })
		if got := m.Alive()[i].GossipAddr; got != restarted.GossipAddr() {
			t.Fatalf("%s has %s at %s, want the new address %s", m.Name(), name, got, restarted.GossipAddr())
		}
	}
}

func TestRetryJoinLateSeed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	seedPort := freePort(t)
	seedAddr := "127.0.0.1:" + strconv.Itoa(seedPort)

	cfg := c.config("late1@127.0.0.1")
	cfg.Join = []string{seedAddr}
	early := c.start(cfg)
	waitFor(t, convergeTimeout, func() bool { return early.Stats().JoinAttempts >= 2 },
		"no retries while the seed is down")
	if isClosed(early.Joined()) || early.JoinError() != nil {
		t.Fatalf("joined=%v err=%v before the seed exists", isClosed(early.Joined()), early.JoinError())
	}

	seedCfg := c.config("late0@127.0.0.1")
	seedCfg.BindPort = seedPort
	seed, err := Start(seedCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seed.Shutdown() })
	allSeeAlive(t, convergeTimeout, []*Membership{early, seed}, 2)
	waitFor(t, convergeTimeout, func() bool { return isClosed(early.Joined()) }, "Joined not closed")
}

func TestRetryJoinExhausted(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	cfg := c.config("lonely@127.0.0.1")
	cfg.Join = []string{"127.0.0.1:" + strconv.Itoa(freePort(t))}
	cfg.RetryJoinMax = 3
	m := c.start(cfg)
	waitFor(t, convergeTimeout, func() bool { return m.JoinError() != nil }, "retries never gave up")
	if err := m.JoinError(); !errors.Is(err, ErrJoinExhausted) || !errors.Is(err, ErrJoinFailed) {
		t.Fatalf("JoinError %v", err)
	}
	if got := m.Stats().JoinAttempts; got != 3 {
		t.Fatalf("%d join attempts, want RetryJoinMax=3", got)
	}
}

func TestShutdownAndClosedAPI(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	m := c.start(c.config("x@127.0.0.1"))
	views, _ := m.Subscribe()
	<-views
	if err := m.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	if _, ok := <-views; ok {
		t.Fatal("subscriber channel not closed by Shutdown")
	}
	if v, _ := m.Subscribe(); !isClosedView(v) {
		t.Fatal("Subscribe after Shutdown must return a closed channel")
	}
	if _, err := m.Join([]string{"127.0.0.1:1"}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("join: %v", err)
	}
	if err := m.Leave(context.Background()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("leave: %v", err)
	}
	if err := m.SetWeight(2); !errors.Is(err, ErrShutdown) {
		t.Fatalf("set weight: %v", err)
	}
	if err := m.ForceLeave("y@127.0.0.1"); !errors.Is(err, ErrShutdown) {
		t.Fatalf("force leave: %v", err)
	}
}

func TestLeaveWithExpiredContextThenShutdown(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("e", 2)
	allSeeAlive(t, convergeTimeout, ms, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ms[1].Leave(ctx); !errors.Is(err, ErrLeave) || !errors.Is(err, context.Canceled) {
		t.Fatalf("leave with a cancelled context: %v", err)
	}
	// Shutdown must wait for the background leave (memberlist panics on a
	// leave after shutdown), and the leave still reaches the others.
	if err := ms[1].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, convergeTimeout, func() bool { return statusOf(ms[0], ms[1].Name()) == StatusLeft },
		"leave did not complete: %v", lazy(func() any { return statusOf(ms[0], ms[1].Name()) }))
}

// A Leave while a join attempt is in flight waits for it: run at once,
// serf's Join and Leave can take the same Lamport time, and the join intent
// then hides the leave (the survivor recorded the leaver failed, about 1
// run in 20 of TestLeaveWithExpiredContextThenShutdown under load).
func TestLeaveWaitsForJoinInFlight(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	e0 := c.startN("j", 1)[0]
	cfg := c.config("j1@127.0.0.1")
	e1, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e1.Shutdown() })
	inJoin, release := make(chan struct{}), make(chan struct{})
	e1.testHookJoin = func() {
		close(inJoin)
		<-release
	}
	joined := make(chan error, 1)
	go func() {
		_, err := e1.Join([]string{e0.GossipAddr()})
		joined <- err
	}()
	<-inJoin
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e1.Leave(ctx); !errors.Is(err, ErrLeave) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Leave during a join in flight: %v, want it to wait for the join (ErrLeave, deadline)", err)
	}
	close(release)
	if err := <-joined; err != nil {
		t.Fatalf("the join in flight: %v", err)
	}
	if _, err := e1.Join([]string{e0.GossipAddr()}); !errors.Is(err, ErrLeft) {
		t.Fatalf("a join after Leave: %v, want ErrLeft", err)
	}
	if err := e1.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, convergeTimeout, func() bool { return statusOf(e0, e1.Name()) == StatusLeft },
		"the survivor's record of the leaver: %v", lazy(func() any { return statusOf(e0, e1.Name()) }))
}

func TestForceLeave(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ms := c.startN("f", 3)
	allSeeAlive(t, convergeTimeout, ms, 3)
	if err := ms[0].ForceLeave(ms[1].Name()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("force leave of an alive member: %v", err)
	}
	if err := ms[0].ForceLeave("nobody@127.0.0.1"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("force leave of an unknown member: %v", err)
	}
	dead := ms[2].Name()
	_ = ms[2].Shutdown()
	waitFor(t, detectTimeout(t, 3), func() bool { return statusOf(ms[0], dead) == StatusFailed }, "not failed")
	if q := ms[0].Quorum(); len(q.Full) != 3 {
		t.Fatalf("quorum before force leave %+v", q)
	}
	if err := ms[0].ForceLeave(dead); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		waitFor(t, convergeTimeout, func() bool { return statusOf(m, dead) == StatusLeft }, "%s: not left", m.Name())
		waitFor(t, convergeTimeout, func() bool { return len(m.Quorum().Full) == 2 }, "%s: quorum %+v", m.Name(), lazy(func() any { return m.Quorum() }))
	}
}

func TestLANProfileJoins(t *testing.T) {
	t.Parallel()
	cookie := newCookie(t)
	var ms []*Membership
	for i := range 2 {
		cfg := DefaultConfig()
		cfg.NodeName = "lan" + strconv.Itoa(i) + "@127.0.0.1"
		cfg.Cookie = cookie
		cfg.Logger = testLogger()
		if i > 0 {
			cfg.Join = []string{ms[0].GossipAddr()}
		}
		m, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Shutdown() })
		ms = append(ms, m)
	}
	allSeeAlive(t, convergeTimeout, ms, 2)
}

// collectChanges reads Views until done(changes so far) holds.
func collectChanges(t testing.TB, views <-chan View, done func([]Change) bool) []Change {
	t.Helper()
	var all []Change
	deadline := time.After(healTimeout)
	for !done(all) {
		select {
		case v, ok := <-views:
			if !ok {
				t.Fatalf("view channel closed; changes so far %v", all)
			}
			all = append(all, v.Changes...)
		case <-deadline:
			t.Fatalf("timed out waiting for changes; got %v", all)
		}
	}
	return all
}

func changedMembers(cs []Change, k ChangeKind) []Member {
	var out []Member
	for _, c := range cs {
		if c.Kind == k {
			out = append(out, c.Member)
		}
	}
	sortMembers(out)
	return out
}

func countKind(cs []Change, k ChangeKind) int {
	n := 0
	for _, c := range cs {
		if c.Kind == k {
			n++
		}
	}
	return n
}

func lastOf(cs []Change, k ChangeKind) *Change {
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Kind == k {
			return &cs[i]
		}
	}
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func isClosedView(ch <-chan View) bool {
	select {
	case _, ok := <-ch:
		return !ok
	default:
		return false
	}
}
