package membership

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/leakcheck"
	"github.com/placerhq/placer/internal/poll"
)

// TestMain checks, after all tests, that no goroutine is left over
// (leakcheck polls: Serf and memberlist end theirs after Shutdown).
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 10*time.Second)) }

// waitFor polls cond until it holds or timeout passes, then fails the
// test with the message, formatted when the wait fails (internal/poll):
// pass lazily evaluated values (lazy) for state that changes meanwhile.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	poll.CheckFor(t, timeout, poll.Cond(cond, func() string { return fmt.Sprintf(format, args...) }))
}

// lazy is a failure-message argument evaluated when the message is
// formatted, after the wait failed, not when the wait began.
type lazy func() any

func (l lazy) String() string { return fmt.Sprintf("%+v", l()) }

func newCookie(t testing.TB) []byte {
	t.Helper()
	c := make([]byte, MinCookieLen)
	if _, err := rand.Read(c); err != nil {
		t.Fatal(err)
	}
	return c
}

// testLogger is silent unless MEMBERSHIP_DEBUG is set (then debug to stderr).
func testLogger() zerolog.Logger {
	if os.Getenv("MEMBERSHIP_DEBUG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
}

// localConfig is a local-profile config for name with cookie.
func localConfig(name string, cookie []byte) Config {
	c := DefaultConfig()
	c.NodeName = name
	c.Cookie = cookie
	c.Profile = ProfileLocal
	c.TransportAddr = "127.0.0.1:" + strconv.Itoa(10000+int(crc32.ChecksumIEEE([]byte(name))%50000))
	c.RetryJoinInterval = 100 * time.Millisecond
	c.ReconcileInterval = 200 * time.Millisecond
	c.Logger = testLogger()
	return c
}

// cluster is an in-process test cluster sharing a cookie and, optionally,
// a FaultNet.
type cluster struct {
	t      testing.TB
	cookie []byte
	fn     *FaultNet
	nodes  []*Membership
}

func newCluster(t testing.TB, withFaults bool) *cluster {
	c := &cluster{t: t, cookie: newCookie(t)}
	if withFaults {
		c.fn = NewFaultNet(testLogger())
	}
	return c
}

func (c *cluster) config(name string) Config {
	cfg := localConfig(name, c.cookie)
	if c.fn != nil {
		tr, err := c.fn.NewTransport("127.0.0.1", 0)
		if err != nil {
			c.t.Fatal(err)
		}
		cfg.Transport = tr
	}
	return cfg
}

// start starts a node with cfg, joining the first node of the cluster if
// there is one and cfg.Join is empty, and shuts it down at test end.
func (c *cluster) start(cfg Config) *Membership {
	c.t.Helper()
	if len(cfg.Join) == 0 && len(c.nodes) > 0 {
		cfg.Join = []string{c.nodes[0].GossipAddr()}
	}
	m, err := Start(cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", cfg.NodeName, err)
	}
	c.t.Cleanup(func() { _ = m.Shutdown() })
	c.nodes = append(c.nodes, m)
	return m
}

// startN starts n nodes named prefix0..prefix(n-1)@127.0.0.1.
func (c *cluster) startN(prefix string, n int) []*Membership {
	out := make([]*Membership, n)
	for i := range n {
		out[i] = c.start(c.config(fmt.Sprintf("%s%d@127.0.0.1", prefix, i)))
	}
	return out
}

// names returns the names of ms.
func names(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// statusOf returns name's status as seen by m (0 if unknown).
func statusOf(m *Membership, name string) Status {
	for _, pm := range m.Members() {
		if pm.Name == name {
			return pm.Status
		}
	}
	return 0
}

// allSeeAlive waits until every node in ms sees exactly want alive members.
func allSeeAlive(t testing.TB, timeout time.Duration, ms []*Membership, want int) {
	t.Helper()
	for _, m := range ms {
		// Both Serf's member list and the published View (which lags it):
		// a subscriber's baseline then holds what the test waited for.
		waitFor(t, timeout, func() bool { return len(m.Alive()) == want && len(m.View().Alive) == want },
			"%s sees %v alive (published %v), want %d", m.Name(), lazy(func() any { return names(m.Alive()) }),
			lazy(func() any { return names(m.View().Alive) }), want)
	}
}

// freePort returns a port that was free for both TCP and UDP on loopback.
func freePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		_ = l.Close()
		if err == nil {
			_ = u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}
