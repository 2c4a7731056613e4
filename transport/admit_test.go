package transport

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/ratelog"
)

// pendingConn makes an admitted-looking pending connection for the pure
// admission tests.
func pendingConn(host string, known bool) *inbound { return &inbound{host: host, known: known} }

// admitAll admits ins in order, failing on a refusal or a displacement,
// and marks them waiting at stage.
func admitAll(t *testing.T, a *admission, stage hsStage, ins ...*inbound) {
	t.Helper()
	for _, in := range ins {
		if v, r := a.admit(in); r != admitted || v != nil {
			t.Fatalf("admit %+v: victim %v, %v", in, v, r)
		}
		a.progress(in, stage, false)
	}
}

func TestAdmissionDisplacesOldestWaiting(t *testing.T) {
	a := newAdmission(3, 10)
	old, mid, young := pendingConn("10.0.0.1", false), pendingConn("10.0.0.2", false), pendingConn("10.0.0.3", false)
	admitAll(t, &a, stageHello, old, mid, young)
	in := pendingConn("10.0.0.4", false)
	if v, r := a.admit(in); r != admitted || v != old || !old.evicted {
		t.Fatalf("got victim %+v, %v; want the oldest", v, r)
	}
	// A connection whose goroutine has not run yet is never displaced.
	if v, r := a.admit(pendingConn("10.0.0.5", false)); r != admitted || v != mid {
		t.Fatalf("got %+v, %v; want mid", v, r)
	}
	if v, r := a.admit(pendingConn("10.0.0.6", false)); r != admitted || v != young {
		t.Fatalf("got %+v, %v; want young", v, r)
	}
	if v, r := a.admit(pendingConn("10.0.0.7", false)); r != refusedBusy || v != nil {
		t.Fatalf("nothing waiting: got %+v, %v; want refusedBusy", v, r)
	}
}

func TestAdmissionPriorities(t *testing.T) {
	a := newAdmission(4, 10)
	member, known := pendingConn("10.0.0.1", true), pendingConn("10.0.0.1", true)
	authing, silent := pendingConn("10.9.0.1", false), pendingConn("10.9.0.2", false)
	admitAll(t, &a, stageHello, member, known, authing, silent)
	a.progress(member, stageAuth, true)
	a.progress(authing, stageAuth, false)
	order := []*inbound{silent, authing, known, member} // unknown silent, unknown authing, known, member
	for i, want := range order {
		if i == 2 { // an unknown newcomer may not displace known addresses
			if v, r := a.admit(pendingConn("10.9.9.9", false)); r != refusedBusy || v != nil {
				t.Fatalf("unknown newcomer displaced %+v (%v)", v, r)
			}
		}
		in := pendingConn("10.0.0.1", true)
		v, r := a.admit(in)
		if r != admitted || v != want {
			t.Fatalf("step %d: displaced %+v, want %+v", i, v, want)
		}
		a.progress(in, stageAuth, true) // newcomers are members: displaced last
	}
}

func TestAdmissionPerHost(t *testing.T) {
	a := newAdmission(100, 2)
	x1, x2 := pendingConn("10.0.0.1", false), pendingConn("10.0.0.1", false)
	admitAll(t, &a, stageHello, x1, x2, pendingConn("10.0.0.2", false))
	if v, r := a.admit(pendingConn("10.0.0.1", false)); r != admitted || v != x1 {
		t.Fatalf("per-host: displaced %+v (%v), want its own oldest", v, r)
	}
	a.progress(x2, stageHello, false)
	x2.waiting = false // pretend it is being served
	if v, r := a.admit(pendingConn("10.0.0.1", false)); r != refusedPerHost || v != nil {
		t.Fatalf("per-host with nothing waiting: %+v, %v", v, r)
	}
	for range 5 { // known addresses are exempt
		if _, r := a.admit(pendingConn("10.0.0.1", true)); r != admitted {
			t.Fatalf("known address refused: %v", r)
		}
	}
	a.remove(x2)
	if a.perHost["10.0.0.1"] != 1 || len(a.pending) != 7 {
		t.Fatalf("bookkeeping: per host %v, pending %d", a.perHost, len(a.pending))
	}
}

// TestHandshakeFailuresCountedAndLogged: the probe's 1,000 wrong-cookie
// attempts are all counted, logged at warn level at most once a second,
// and the count of the suppressed ones is logged within about a second,
// without waiting for another failure. A silent connection is closed after
// HelloTimeout and counted.
func TestHandshakeFailuresCountedAndLogged(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig("b@127.0.0.1")
	cfg.Logger, cfg.HelloTimeout = zerolog.New(logs).Level(zerolog.WarnLevel), 200*time.Millisecond
	b := startNode(t, cfg)
	const attempts = 1000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < attempts; i += 8 {
				wrongCookieAttempt(t, b.ep.Addr(), b.ep.Name(), i)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 5*time.Second, "1,000 counted failures", func() bool { return b.ep.Stats().InboundAuthFailed == attempts })
	waitFor(t, 5*time.Second, "the suppressed count in the log", func() bool { return loggedFailures(logs, "inbound-auth") == attempts })
	if lines := strings.Count(logs.String(), `"kind":"inbound-auth"`); lines > 10 {
		t.Fatalf("%d warning lines for %d failures: not rate-limited", lines, attempts)
	}
	silent, err := net.Dial("tcp", b.ep.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitFor(t, 5*time.Second, "the silent connection timed out", func() bool { return b.ep.Stats().InboundTimedOut == 1 })
}

// wrongCookieAttempt runs one dialer handshake with a wrong cookie.
func wrongCookieAttempt(t *testing.T, addr, target string, i int) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	cfg := rawHS(rawOpts{name: fmt.Sprintf("x%d@127.0.0.1", i), cookie: []byte("the wrong cookie, the wrong cookie")})
	_, err = dialHandshake(bufio.NewReader(nc), nc, &cfg, target, dialDecisions{})
	if err == nil {
		t.Error("a wrong cookie got in")
	}
}

// loggedFailures adds up the failures of kind the log reports: one per
// line, plus the suppressed counts.
func loggedFailures(logs *syncBuffer, kind string) int {
	_, n := ratelog.Tally(logs.String(), kind)
	return n
}

// TestDialRetriesUnansweredClose: an acceptor that sheds our first
// connections without a word (as admission does under a flood) is dialled
// again at once, and the third attempt gets through; a Reject is never
// retried.
func TestDialRetriesUnansweredClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { _ = ln.Close() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveAfterShedding(t, ln, 2)
	}()
	a := startNode(t, testConfig("a@127.0.0.1"))
	a.ep.SetAddr("shed@127.0.0.1", ln.Addr().String())
	if err := a.ep.Connect(ctxT(t), "shed@127.0.0.1"); err != nil {
		t.Fatalf("connect after two shed attempts: %v", err)
	}
	if s := a.ep.Stats(); s.OutboundFailed != 2 {
		t.Fatalf("stats %+v, want 2 failed attempts", s)
	}
	b := startNode(t, testConfig("b@127.0.0.1"))
	bad := testConfig("c@127.0.0.1")
	bad.Cookie = []byte("a cookie b has never heard of!!!")
	c := startNode(t, bad)
	c.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	mustIs(t, c.ep.Connect(ctxT(t), b.ep.Name()), ErrAuth)
	waitFor(t, 5*time.Second, "the acceptor's count", func() bool { return b.ep.Stats().InboundAuthFailed >= 1 })
	if s := c.ep.Stats(); s.OutboundAuthFailed != 1 || b.ep.Stats().InboundAccepted != 1 {
		t.Fatalf("a Reject was retried: dialer %+v, acceptor %+v", s, b.ep.Stats())
	}
}

// serveAfterShedding closes the first shed connections of ln at once,
// then completes an acceptor handshake as shed@127.0.0.1 on the next one
// and holds it until the peer closes it.
func serveAfterShedding(t *testing.T, ln net.Listener, shed int) {
	for range shed {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		_ = nc.Close()
	}
	nc, err := ln.Accept()
	if err != nil {
		return
	}
	defer nc.Close()
	cfg := hsCfg("shed@127.0.0.1", string(testCookie))
	br := bufio.NewReader(nc)
	if _, err := acceptHandshake(br, nc, &cfg, okAccept(statusOK)); err != nil {
		t.Errorf("acceptor handshake: %v", err)
		return
	}
	_, _ = br.WriteTo(io.Discard) // until the dialer closes
}
