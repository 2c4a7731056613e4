package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/node"
)

// TestCLITruth drives two in-process agents through the CLI: every exit
// code tells the truth (an rpc's own error, an unknown kind, a message the
// owner would drop), the remaining words are one request, the node-level
// commands work, a wrong cookie is said once, and every JSON key is
// snake_case with PIDs in their one form.
func TestCLITruth(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	env := newAgentEnv(t)
	a1log := &syncBuffer{}
	a1 := env.startLogged(t, a1log, "ct1@127.0.0.1", "--log-level", "info")
	defer a1.Close()
	a2log := &syncBuffer{}
	a2 := env.startLogged(t, a2log, "ct2@127.0.0.1", "--log-level", "info", "--join", a1.Info().Gossip, "--http", "off")
	defer a2.Close()
	agentWait(t, 10*time.Second, "two ring members", func() bool {
		return len(a1.Cluster().View().Members) == 2 && len(a2.Cluster().View().Members) == 2
	})
	for _, n := range []*node.Node{a1.Cluster().Node(), a2.Cluster().Node()} {
		pid, err := n.Spawn(context.Background(), node.KindEcho, nil, node.SpawnOpts{Name: "echo1"})
		if err != nil || pid.IsZero() {
			t.Fatal(err)
		}
	}
	expect := func(wantCode int, wantOut string, args ...string) string {
		t.Helper()
		code, out, errText := env.cli(args...)
		if code != wantCode || !strings.Contains(out+errText, wantOut) {
			t.Fatalf("%v: exit %d (want %d), out %q, err %q (want %q)", args, code, wantCode, out, errText, wantOut)
		}
		return out
	}
	expect(1, "bad request", "rpc", "ct1@127.0.0.1", "placer.lookup", "user-42") // printed {"err":...} and exited 0
	expect(0, `"owner"`, "rpc", "ct1@127.0.0.1", "placer.lookup", `{"key":"user-42"}`)
	expect(1, "unknown keyed kind", "send", "nosuchkind", "x") // said ok
	expect(1, "integer to add", "send", "counter", "k", "abc") // said ok: the owner drops it
	expect(0, "ok", "send", "counter", "k", "5")
	expect(0, "ok", "call", "kv", "sess-1", "set", "name", "alice") // a usage error before
	expect(0, "alice", "call", "kv", "sess-1", "get", "name")
	expect(0, "ok", "send", "echo1@ct2@127.0.0.1", "hello", "there")
	expect(1, "no process or service registered", "send", "nobody@ct2@127.0.0.1", "hi")
	expect(0, "ct1@127.0.0.1, ct2@127.0.0.1", "abcast", "echo1", "hi")
	out := expect(0, "ct2@127.0.0.1: ping", "multicall", "echo1", "ping")
	if !strings.Contains(out, "ct1@127.0.0.1: ping") {
		t.Fatalf("multicall: %q", out)
	}
	expect(1, "2 of 2 members failed", "multicall", "only-on-none", "x")
	out = expect(0, "ct1@127.0.0.1: 3", "rpc", "--all", "abs", "-3")
	if !strings.Contains(out, "ct2@127.0.0.1: 3") {
		t.Fatalf("rpc --all: %q", out)
	}
	expect(0, "abs", "rpc", "--list", "ct2@127.0.0.1")
	pidText := strings.TrimSpace(expect(0, "<ct2@127.0.0.1.", "spawn", "ct2@127.0.0.1", node.KindEcho))
	pid, err := node.ParsePID(pidText)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() { _, o, e := env.cli("monitor", "--pid", pidText, "--timeout", "10s"); done <- o + e }()
	agentWait(t, 5*time.Second, "the monitor", func() bool {
		info, err := a2.Cluster().Node().ProcessInfo(pid)
		return err == nil && info.MonitoredBy > 0
	})
	if err := a2.Cluster().Node().Exit(pid, node.Reason{Kind: node.Killed}); err != nil {
		t.Fatal(err)
	}
	if got := <-done; !strings.Contains(got, "DOWN "+pidText+": killed") {
		t.Fatalf("monitor --pid: %q", got)
	}
	expect(1, "not failed", "force-leave", "ct2@127.0.0.1", "--yes")
	expect(0, "off", "quorum", "status")
	expect(0, "ct2@127.0.0.1", "quorum", "reset", "--yes")
	agentWait(t, 5*time.Second, "a log line on every member", func() bool {
		return strings.Contains(a1log.String(), "operator: quorum reset") && strings.Contains(a2log.String(), "operator: quorum reset")
	})
	checkSnakeJSON(t, env)

	bad := filepath.Join(t.TempDir(), "bad-cookie")
	if err := os.WriteFile(bad, []byte(strings.Repeat("w", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb syncBuffer
	code := run([]string{"members", "--names-dir", env.dir, "--cookie-file", bad, "--node", "ct1@127.0.0.1"}, &syncBuffer{}, &errb)
	if want := "placer members: authentication failed at ct1@127.0.0.1 (wrong cookie?)\n"; code != 1 || errb.String() != want {
		t.Fatalf("wrong cookie: exit %d %q, want %q", code, errb.String(), want)
	}
}

// checkSnakeJSON: every key of the JSON reports is snake_case, and PIDs
// are {"node","id","creation"} objects.
func checkSnakeJSON(t *testing.T, env agentEnv) {
	t.Helper()
	env.cli("call", "counter", "k", "1")
	key := regexp.MustCompile(`"([^"]+)":`)
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, args := range [][]string{
		{"members", "--json"}, {"lookup", "k", "--n", "2", "--state", "--json"}, {"rpc", "ct1@127.0.0.1", "placer.stats"},
		{"rpc", "ct1@127.0.0.1", "placer.hosted"}, {"rpc", "ct2@127.0.0.1", "processes"}, {"rpc", "ct1@127.0.0.1", "placer.view"},
		{"rpc", "ct1@127.0.0.1", "placer.ring"}, {"quorum", "status", "--json"}, {"spawn", "ct1@127.0.0.1", "echo", "--json"},
	} {
		code, out, errText := env.cli(args...)
		if code != 0 || !json.Valid([]byte(out)) {
			t.Fatalf("%v: exit %d %q %q", args, code, out, errText)
		}
		for _, m := range key.FindAllStringSubmatch(out, -1) {
			if !snake.MatchString(m[1]) && !strings.Contains(m[1], "@") {
				t.Fatalf("%v: key %q is not snake_case in %.300s", args, m[1], out)
			}
		}
	}
}
