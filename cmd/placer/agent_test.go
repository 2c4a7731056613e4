package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"

	"github.com/placerhq/placer/internal/logbuf"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement/agent/names"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer = logbuf.Buffer

// agentWait polls cond until it holds or timeout passes (internal/poll).
func agentWait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.CheckFor(t, timeout, poll.Cond(cond, func() string { return "waiting for " + what }))
}

// agentEnv is a names dir and a cookie file shared by in-process agents
// and CLI runs.
type agentEnv struct {
	dir, cookie string
}

func newAgentEnv(t *testing.T) agentEnv {
	dir := t.TempDir()
	return agentEnv{dir: filepath.Join(dir, "names"), cookie: filepath.Join(dir, "cookie")}
}

// start starts an in-process agent (local profile, loopback).
func (e agentEnv) start(t *testing.T, name string, extra ...string) *agent.Agent {
	t.Helper()
	return e.startLogged(t, &syncBuffer{}, name, append([]string{"--log-level", "warn"}, extra...)...)
}

// startLogged starts an in-process agent logging to stderr.
func (e agentEnv) startLogged(t *testing.T, stderr io.Writer, name string, extra ...string) *agent.Agent {
	t.Helper()
	args := append([]string{"--name", name, "--profile", "local", "--names-dir", e.dir, "--cookie-file", e.cookie,
		"--join-timeout", "5s"}, extra...)
	cfg, err := parseAgentConfig(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	a, err := startAgent(cfg, args, &stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() }) // after a failure; idempotent
	if !strings.Contains(stdout.String(), "placer agent "+name) {
		t.Fatalf("start-up line: %q", stdout.String())
	}
	return a
}

// names runs `placer names` (which takes no cookie) against the env.
func (e agentEnv) names() (int, string) {
	var out bytes.Buffer
	code := run([]string{"names", "--names-dir", e.dir}, &out, io.Discard)
	return code, out.String()
}

// cli runs a CLI command in-process against the env and returns its exit
// code and output.
func (e agentEnv) cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append(args, "--names-dir", e.dir, "--cookie-file", e.cookie), &out, &errb)
	return code, out.String(), errb.String()
}

// httpGet fetches url without keep-alive (no idle connection goroutines).
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgentInProcess runs two agents in this process and drives them
// through the CLI commands (in-process), the HTTP API and the signal
// handling: members, names, lookup, send, call, rpc, monitor, graceful
// leave keeping every counter, and a second signal closing at once.
func TestAgentInProcess(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	env := newAgentEnv(t)
	a1 := env.start(t, "ip1@127.0.0.1")
	conf := filepath.Join(t.TempDir(), "ip2.toml")
	writeLevel := func(level string) {
		if err := os.WriteFile(conf, []byte("log_level = \""+level+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeLevel("warn")
	a2log := &syncBuffer{}
	a2 := env.startLogged(t, a2log, "ip2@127.0.0.1", "--join", a1.Info().Gossip, "--http", "off", "--config", conf)
	agentWait(t, 10*time.Second, "two ring members", func() bool {
		return len(a1.Cluster().View().Members) == 2 && len(a2.Cluster().View().Members) == 2
	})

	code, out, errText := env.cli("members", "--json")
	var ms placement.Members
	if code != 0 || json.Unmarshal([]byte(out), &ms) != nil || len(ms.Members) != 2 || len(ms.Hidden) != 1 {
		t.Fatalf("members: exit %d %q %q", code, out, errText)
	}
	if code, out = env.names(); code != 0 || !strings.Contains(out, "ip1@127.0.0.1") || !strings.Contains(out, "ip2@127.0.0.1") {
		t.Fatalf("names: %d %q", code, out)
	}
	keys := []string{"a", "b", "c", "d", "e", "f"}
	for _, k := range keys {
		if code, out, errText = env.cli("send", "counter", k, "7", "--node", "ip2@127.0.0.1"); code != 0 || out != "ok\n" {
			t.Fatalf("send %s: %d %q %q", k, code, out, errText)
		}
		// Through the same agent as the send: order holds per sender (a call
		// through the other agent could overtake the send still in flight).
		if code, out, _ = env.cli("call", "counter", k, "1", "--node", "ip2@127.0.0.1"); code != 0 || out != "8\n" {
			t.Fatalf("call %s: %d %q", k, code, out)
		}
	}
	// members shows each member's primaries and backups (counter: R = 2).
	agentWait(t, 10*time.Second, "6 primaries and 6 backups in members", func() bool {
		code, out, _ := env.cli("members", "--json")
		var ms placement.Members
		if code != 0 || json.Unmarshal([]byte(out), &ms) != nil {
			return false
		}
		p, b := 0, 0
		for _, m := range ms.Members {
			if m.Primaries == nil || m.Backups == nil {
				return false
			}
			p, b = p+*m.Primaries, b+*m.Backups
		}
		return p == 6 && b == 6
	})
	if code, out, _ = env.cli("members"); code != 0 || !strings.Contains(out, "PRIMARIES") || !strings.Contains(out, "BACKUPS") {
		t.Fatalf("members: %d %q", code, out)
	}
	if code, out, _ = env.cli("lookup", "a", "--n", "2"); code != 0 || !strings.Contains(out, "a -> ") || !strings.Contains(out, "owners: ") {
		t.Fatalf("lookup: %d %q", code, out)
	}
	if code, out, _ = env.cli("rpc", "ip2@127.0.0.1", "abs", "-1"); code != 0 || out != "1\n" {
		t.Fatalf("rpc abs -1: %d %q", code, out)
	}
	if code, _, errText = env.cli("call", "nokind", "k"); code != 1 || !strings.Contains(errText, "unknown keyed kind") {
		t.Fatalf("unknown kind: %d %q", code, errText)
	}
	checkHTTP(t, a1)

	// monitor: the first cluster event after subscribing is a2 leaving.
	mon := &syncBuffer{}
	monDone := make(chan int, 1)
	go func() {
		monDone <- run([]string{"monitor", "--count", "1", "--timeout", "20s", "--names-dir", env.dir,
			"--cookie-file", env.cookie, "--node", "ip1@127.0.0.1"}, mon, io.Discard)
	}()
	agentWait(t, 5*time.Second, "monitor subscribed", func() bool { return strings.Contains(mon.String(), "watching the cluster") })

	writeLevel("debug")
	sigs := make(chan os.Signal, 2)
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	if err := a2.Serve(context.Background(), sigs); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if !strings.Contains(a2log.String(), "SIGHUP: log level reloaded") {
		t.Fatalf("SIGHUP did not reload the level from the config file: %q", a2log.String())
	}
	if code := <-monDone; code != 0 || !strings.Contains(mon.String(), "ip2@127.0.0.1") {
		t.Fatalf("monitor: exit %d %q", code, mon.String())
	}
	if _, ok := names.Lookup(env.dir, "ip2@127.0.0.1"); ok {
		t.Fatal("names record left after stop")
	}
	for _, k := range keys {
		if code, out, _ = env.cli("call", "counter", k); code != 0 || out != "8\n" {
			t.Fatalf("after the leave, %s: %d %q", k, code, out)
		}
	}

	// A second signal during the leave closes at once.
	sigs <- syscall.SIGINT
	sigs <- syscall.SIGTERM
	if err := a1.Serve(context.Background(), sigs); !errors.Is(err, agent.ErrInterrupted) {
		t.Fatalf("second signal: %v", err)
	}
}

// checkHTTP exercises the admin HTTP server of a.
func checkHTTP(t *testing.T, a *agent.Agent) {
	t.Helper()
	base := "http://" + a.Info().HTTP
	var view placement.ViewInfo
	agentWait(t, 5*time.Second, "a converged view over HTTP", func() bool {
		code, body := httpGet(t, base+"/api/view")
		return code == 200 && json.Unmarshal([]byte(body), &view) == nil && view.Converged && len(view.Members) == 2
	})
	for path, want := range map[string]string{
		"/api/members":          `"ring":true`,
		"/api/stats":            `"placement":`,
		"/api/hosted":           `"kind":"counter"`,
		"/api/lookup?key=a&n=2": `"owners":[`,
		"/metrics":              `placer_placement_routed_total{node="ip1@127.0.0.1"}`,
		"/":                     "<title>placer</title>",
	} {
		if code, body := httpGet(t, base+path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want %q in %.300s", path, code, want, body)
		}
	}
	for path, status := range map[string]int{"/api/lookup": 400, "/api/lookup?key=a&n=0": 400, "/nope": 404} {
		if code, _ := httpGet(t, base+path); code != status {
			t.Errorf("GET %s: %d, want %d", path, code, status)
		}
	}
}

// TestAgentHiddenObserver: a hidden agent connects to a member, is listed
// only as hidden, serves the cluster's view over HTTP through its client,
// and refuses to be a CLI target.
func TestAgentHiddenObserver(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	env := newAgentEnv(t)
	m := env.start(t, "hm1@127.0.0.1", "--http", "off")
	obs := env.start(t, "hobs@127.0.0.1", "--hidden", "--join", "hm1@127.0.0.1")
	if ms := m.Cluster().Members(); len(ms.Members) != 1 || len(ms.Hidden) != 1 || ms.Hidden[0] != "hobs@127.0.0.1" {
		t.Fatalf("members seen by the member: %+v", ms)
	}
	code, body := httpGet(t, "http://"+obs.Info().HTTP+"/api/members")
	if code != 200 || !strings.Contains(body, `"node":"hm1@127.0.0.1"`) {
		t.Fatalf("observer http: %d %s", code, body)
	}
	if code, _, errText := env.cli("members", "--node", "hobs@127.0.0.1"); code != 1 || !strings.Contains(errText, "hidden observer") {
		t.Fatalf("hidden target: %d %q", code, errText)
	}
	if code, out := env.names(); code != 0 || !strings.Contains(out, "hidden") {
		t.Fatalf("names: %q", out)
	}
	if err := obs.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestAgentNameInUse: a second agent with a live agent's name is refused.
func TestAgentNameInUse(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	env := newAgentEnv(t)
	if err := names.Write(env.dir, names.Record{Name: "dup@127.0.0.1", PID: os.Getppid()}); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseAgentConfig([]string{"--name", "dup@127.0.0.1", "--names-dir", env.dir, "--cookie-file", env.cookie}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startAgent(cfg, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "in use by pid") {
		t.Fatalf("duplicate name: %v", err)
	}
}
