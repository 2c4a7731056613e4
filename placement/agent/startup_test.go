package agent

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/leakcheck"
	"github.com/placerhq/placer/internal/logbuf"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/cookie"
)

type logBuffer = logbuf.Buffer

func startOK(t *testing.T, cfg Config) *Agent {
	t.Helper()
	a, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestJoinMisconfiguredFails: a joiner with another cookie, a dead join
// address or one without a port used to start anyway and serve keys from
// a one-node island (the port-less one "joined" itself); it fails to start
// naming the likely cause.
func TestJoinMisconfiguredFails(t *testing.T) {
	defer leakcheck.Verify(t, 10*time.Second, goleak.IgnoreCurrent())
	seedDir := t.TempDir()
	seed := startOK(t, testConfig(seedDir, "seed@127.0.0.1"))
	defer seed.Close()
	other := t.TempDir()
	if _, _, err := cookie.Ensure(filepath.Join(other, "cookie")); err != nil { // a cookie of its own
		t.Fatal(err)
	}
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	for name, c := range map[string]struct {
		dir, join, cause string
	}{
		"wrong-cookie": {other, seed.Info().Gossip, "wrong cookie"},
		"dead":         {seedDir, deadAddr, "nothing listening"},
		"noport":       {seedDir, "127.0.0.1", "nothing listening"},
		"unresolvable": {seedDir, "nosuchhost.invalid:7946", "name resolution failed"},
	} {
		cfg := testConfig(c.dir, name+"@127.0.0.1")
		cfg.Join, cfg.JoinTimeout = []string{c.join}, time.Second
		a, err := Start(cfg)
		if err == nil {
			_ = a.Close()
		}
		if !errors.Is(err, ErrJoin) || !strings.Contains(err.Error(), c.cause) {
			t.Errorf("%s: %v, want ErrJoin naming %q", name, err, c.cause)
		}
	}
	if n := len(seed.Cluster().Membership().Members()); n != 1 {
		t.Fatalf("the seed lists %d members", n)
	}
}

// TestJoinerNeverCreatesCookie: a missing cookie file used to be created
// by a joiner (a fresh random cookie: an island); only a bootstrapping
// agent creates one.
func TestJoinerNeverCreatesCookie(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir, "j@127.0.0.1")
	cfg.Join = []string{"127.0.0.1:1"}
	if a, err := Start(cfg); !errors.Is(err, ErrNoCookie) || !strings.Contains(err.Error(), "--bootstrap") {
		if a != nil {
			_ = a.Close()
		}
		t.Fatalf("joiner without a cookie: %v", err)
	}
	if _, err := os.Stat(cfg.CookieFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a joiner created the cookie file: %v", err)
	}
	cfg.Bootstrap, cfg.JoinTimeout = true, 100*time.Millisecond
	a := startOK(t, cfg)
	defer a.Close()
	if a.Cluster().Owner("k") != "j@127.0.0.1" {
		t.Fatal("a bootstrapping agent owns no keys")
	}
}

// TestBusyPortsNeverJoin: an agent whose admin HTTP port is busy used to
// join first (the cluster logged nodeup and planned handoffs to it), then
// fail; in quorum mode three such failed starts raised the last full
// membership from 3 to 6 and every keyed call failed with no quorum.
// Every listener is bound before the join now: the members never see the
// failed agents.
func TestBusyPortsNeverJoin(t *testing.T) {
	defer leakcheck.Verify(t, 10*time.Second, goleak.IgnoreCurrent())
	dir := t.TempDir()
	var ms []*Agent
	for i, name := range []string{"q1@127.0.0.1", "q2@127.0.0.1", "q3@127.0.0.1"} {
		cfg := testConfig(dir, name)
		cfg.Quorum = true
		if i > 0 {
			cfg.Join = []string{ms[0].Info().Gossip}
		}
		ms = append(ms, startOK(t, cfg))
		defer ms[i].Close()
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, name := range []string{"f1@127.0.0.1", "f2@127.0.0.1", "f3@127.0.0.1"} {
		cfg := testConfig(dir, name)
		cfg.Quorum, cfg.Join, cfg.HTTP = true, []string{ms[0].Info().Gossip}, busy.Addr().String()
		if a, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "admin http") {
			if a != nil {
				_ = a.Close()
			}
			t.Fatalf("%s with a busy http port: %v", name, err)
		}
	}
	if n := len(ms[0].Cluster().Membership().Members()); n != 3 {
		t.Fatalf("failed starts joined: %d members", n)
	}
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool {
		q := ms[0].Cluster().QuorumInfo()
		return q.Serving && len(q.Full) == 3
	}, func() string { return "quorum of 3" }))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ms[1].Cluster().Call(ctx, KindCounter, "k", []byte("1")); err != nil {
		t.Fatalf("a keyed call after failed starts: %v", err)
	}
}

// TestDataDirRejoinAndAlone: an agent restarted without Join, even after a
// graceful leave, used to form a one-node cluster; with a data dir it
// rejoins the members it knew. Restarted when none of them is there, it
// says loudly that it is alone, and Members reports it.
func TestDataDirRejoinAndAlone(t *testing.T) {
	defer leakcheck.Verify(t, 10*time.Second, goleak.IgnoreCurrent())
	dir := t.TempDir()
	c1 := testConfig(dir, "d1@127.0.0.1")
	c1.DataDir = filepath.Join(dir, "d1")
	a1 := startOK(t, c1)
	defer a1.Close()
	c2 := testConfig(dir, "d2@127.0.0.1")
	c2.DataDir, c2.Join = filepath.Join(dir, "d2"), []string{a1.Info().Gossip}
	a2 := startOK(t, c2)
	if err := a2.Stop(); err != nil {
		t.Fatal(err)
	}
	c2.Join = nil
	a2 = startOK(t, c2)
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool {
		return len(a1.Cluster().Membership().Alive()) == 2 && len(a2.Cluster().View().Members) == 2
	}, func() string { return "the restarted agent rejoined" }))
	if err := a2.Stop(); err != nil {
		t.Fatal(err)
	}
	_ = a1.Close()
	var lb logBuffer
	c2.Logger, c2.JoinTimeout = zerolog.New(&lb), 500*time.Millisecond
	a2 = startOK(t, c2)
	defer a2.Close()
	ms := a2.Cluster().Members()
	if !ms.Alone || len(ms.PreviousPeers) != 1 || !strings.Contains(lb.String(), "ALONE") {
		t.Fatalf("alone: %+v\n%s", ms, lb.String())
	}
	_ = placement.Members{}
}

// TestForceLeaveAndQuorumReset: in quorum mode, a member that failed for
// good is forced out on every member (each logs it, naming the client)
// and leaves the last full membership; a quorum reset runs on every
// member too. Before, both existed only in the Go API of one node.
func TestForceLeaveAndQuorumReset(t *testing.T) {
	defer leakcheck.Verify(t, 10*time.Second, goleak.IgnoreCurrent())
	dir := t.TempDir()
	var as []*Agent
	var logs []*logBuffer
	for i, name := range []string{"fl1@127.0.0.1", "fl2@127.0.0.1", "fl3@127.0.0.1"} {
		cfg := testConfig(dir, name)
		lb := &logBuffer{}
		cfg.Quorum, cfg.Logger = true, zerolog.New(lb)
		if i > 0 {
			cfg.Join = []string{as[0].Info().Gossip}
		}
		as, logs = append(as, startOK(t, cfg)), append(logs, lb)
		defer as[i].Close()
	}
	_ = as[2].Close()
	mem := as[0].Cluster().Membership()
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool { return mem.Stats().Failed == 1 }, func() string { return "fl3 failed" }))
	cc := DefaultClientConfig()
	cc.CookieFile, cc.NamesDir = filepath.Join(dir, "cookie"), filepath.Join(dir, "names")
	cl, err := NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs, err := cl.ForceLeave(ctx, "fl3@127.0.0.1")
	if err != nil || len(rs) != 2 || rs[0].Error != "" || rs[1].Error != "" {
		t.Fatalf("force-leave: %+v %v", rs, err)
	}
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool {
		qs, err := cl.Quorum(ctx)
		return err == nil && len(qs) == 2 && len(qs[0].Full) == 2 && len(qs[1].Full) == 2 && qs[0].Serving
	}, func() string { return "a full membership of 2 on both members" }))
	if _, err := cl.ResetQuorum(ctx); err != nil {
		t.Fatal(err)
	}
	for i, lb := range logs[:2] {
		if s := lb.String(); !strings.Contains(s, "operator: force-leave") || !strings.Contains(s, "operator: quorum reset") || !strings.Contains(s, "placer-cli-") {
			t.Fatalf("member %d logged:\n%s", i+1, s)
		}
	}
}
