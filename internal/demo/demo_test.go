package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/leakcheck"
)

// demoTestCookie is the cookie of the in-process runs: the output must never
// contain it, in any encoding.
var demoTestCookie = []byte("demo-test-cookie:0123456789abcdefghijklmnopqrstuv")

// verifyNoLeaks checks for leftover goroutines, giving Serf's and
// memberlist's asynchronous shutdown a few seconds.
func verifyNoLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	leakcheck.Verify(t, 10*time.Second, opts...)
}

func assertNoDemoCookie(t *testing.T, outputs ...string) {
	t.Helper()
	for _, form := range []string{string(demoTestCookie), hex.EncodeToString(demoTestCookie),
		base64.StdEncoding.EncodeToString(demoTestCookie), base64.RawStdEncoding.EncodeToString(demoTestCookie)} {
		for _, out := range outputs {
			if strings.Contains(out, form) {
				t.Fatalf("the output contains the cookie (%q)", form)
			}
		}
	}
}

// TestDemoWalkthrough runs every step in-process, with fewer keys than the
// default, and checks the narration and the measured figures.
func TestDemoWalkthrough(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	o := DefaultOptions()
	o.Keys, o.Names, o.Cookie = 200, 2000, demoTestCookie
	o.Steps, _ = ParseSteps("")
	var out, errb bytes.Buffer
	d, err := newDemo(o, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.main(context.Background(), &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	assertNoDemoCookie(t, text, errb.String())
	checkDemoNarration(t, text)
	checkDemoFigures(t, d.summaryJSON())
	if t.Failed() {
		t.Log(text)
	}
}

func checkDemoNarration(t *testing.T, text string) {
	t.Helper()
	want := []string{
		"== 1. Starting a cluster", "== 16. Node listening ports", "== Summary",
		"\n   Hello from node2@127.0.0.1!\n",
		"{:nodeup, :\"node2@127.0.0.1\"}",
		"\"Hello from node1!\"   # from #PID<node1@127.0.0.1.",
		":rpc.call(:\"node2@127.0.0.1\", Kernel, :abs, [-1])\n   placer: node.RPCT",
		"=> 1   # in ",
		":noconnection}   # after",
		"{:nodedown, :\"node3@127.0.0.1\"}",
		"EventConflict todo_list \"list-",
		":global.register_name({:todo_list, \"bob\"}, self())\n   placer: g1.RegisterName", "=> :yes   # in ", "=> :no   # global: name",
		"# node2 hangs until node1 releases the lock", "{:global_name_conflict, \"todo_list/split\", #PID<",
		`=> :undefined   # on every node`,
	}
	for i := 1; i <= 10; i++ {
		want = append(want, fmt.Sprintf("   {:response, %d}\n", 10*i))
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the narration lacks %q", w)
		}
	}
	for _, re := range []string{`\{:DOWN, #Reference<\d+>, :process, #PID<node3@127\.0\.0\.1\.\d+\.\d+>, :noconnection\}`,
		`\{:EXIT, #PID<node3@127\.0\.0\.1\.\d+\.\d+>, :noconnection\}`,
		`items lost\s+0\n`, `lists that lost their state\s+0\n`,
		`=> false   # .*authentication failed`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("the narration does not match %s", re)
		}
	}
}

func checkDemoFigures(t *testing.T, f map[string]any) {
	t.Helper()
	eq := map[string]any{
		"spawn_hello": "Hello from node2@127.0.0.1!", "rpc_abs": int64(1), "register_received": "Hello from node1!",
		"crash_down_reason": "noconnection", "crash_exit_reason": "noconnection",
		"leave_lost_states": 0, "leave_lost_messages": 0,
		"partition_duplicates_left": 0, "partition_conflicts": 200, "partition_lists_merged": 200,
		"partition_duplicates": 200, "join_states_kept": 200,
		"hidden_listed_hidden": true, "hidden_listed_visible": false,
		"cookie_refused": true, "cookie_gossip_refused": true, "cookie_set_cookie_connects": true,
		"global_register_second": "no", "group_closest_local": true, "partition_name_loser_told": true,
	}
	for k, v := range eq {
		if f[k] != v {
			t.Errorf("%s = %#v, want %#v", k, f[k], v)
		}
	}
	if got := f["spawn_responses"].([]int); !slices.Equal(slices.Sorted(slices.Values(got)), []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) {
		t.Errorf("spawn_responses = %v", got)
	}
	demoBetween(t, f, "discovery_ring_moved_ratio", 0.8, 1.2)
	demoBetween(t, f, "discovery_modulo_moved_pct", 60, 90)
	demoBetween(t, f, "join_moved_ratio", 0.5, 1.5)
	if f["leave_messages"].(int64) <= 0 || f["leave_handed_off"].(int) <= 0 {
		t.Errorf("no traffic or nothing handed off during the leave: %v, %v", f["leave_messages"], f["leave_handed_off"])
	}
	for _, k := range []string{"crash_reowned_ms", "partition_heal_ms", "join_rebalance_ms", "leave_drain_ms", "global_register_us",
		"global_whereis_ns", "group_join_visible_us", "group_members_ns", "lock_handover_us", "lock_trans_us", "partition_name_resolved_ms",
		"crash_global_released_ms"} {
		demoBetween(t, f, k, 0.001, 60_000)
	}
	if got := f["ports_got"].([]int); len(got) != 2 || got[0] == got[1] {
		t.Errorf("ports_got = %v", got)
	}
}

func demoBetween(t *testing.T, f map[string]any, k string, lo, hi float64) {
	t.Helper()
	var v float64
	switch x := f[k].(type) {
	case float64:
		v = x
	case int:
		v = float64(x)
	default:
		t.Errorf("%s = %#v, want a number", k, f[k])
		return
	}
	if v < lo || v > hi {
		t.Errorf("%s = %v, want %v..%v", k, v, lo, hi)
	}
}

// TestDemoLogsNoCookie: with placer's debug logs on, neither the logs nor
// the narration show the cookie.
func TestDemoLogsNoCookie(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	o := DefaultOptions()
	o.Cookie, o.LogLevel = demoTestCookie, "debug"
	o.Steps, _ = ParseSteps("cookie")
	var out bytes.Buffer
	var errb demoLockedBuffer // the logs come from many goroutines, some late
	if err := Run(context.Background(), o, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "component=") {
		t.Fatalf("no logs on stderr: %q", errb.String())
	}
	assertNoDemoCookie(t, out.String(), errb.String())
}

// demoLockedBuffer is a bytes.Buffer safe for concurrent writers.
type demoLockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *demoLockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *demoLockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestParseDemoSteps(t *testing.T) {
	got, err := ParseSteps(" leave, 7,join ,1")
	if err != nil || !slices.Equal(got, []int{0, 6, 9, 11}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if all, _ := ParseSteps(""); len(all) != len(demoSteps()) {
		t.Fatalf("all steps: %v", all)
	}
}

func TestFormatHelpers(t *testing.T) {
	for in, want := range map[string]string{"node3@127.0.0.1": "c3", "node12@h": "c12", "observer@127.0.0.1": "observer"} {
		if got := demoVar(in); got != want {
			t.Errorf("cvar(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		in   any
		want string
		ok   bool
	}{{1284.7, "1285", true}, {24.83, "24.8", true}, {0.9641, "0.964", true}, {3.0, "3", true},
		{[]int{10, 20}, "10 20", true}, {[]string{"a"}, "", false}, {true, "true", true}} {
		if got, ok := demoFormatFig(c.in); got != c.want || ok != c.ok {
			t.Errorf("formatFig(%v) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
