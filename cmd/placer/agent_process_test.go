package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/placerhq/placer/placement"

	"github.com/placerhq/placer/placement/agent/names"
)

// The tests in this file build the placer binary once (without -race: the
// children are many and the race detector would only slow them down; this
// test process itself still runs under -race in CI) and run real agent
// processes on 127.0.0.1 with the local gossip profile, a temporary cookie
// file and names directory. Every child is killed at cleanup.

// buildPlacer compiles the placer command into a temporary directory.
func buildPlacer(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the placer binary:", err)
	}
	bin := filepath.Join(t.TempDir(), "placer")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/placerhq/placer/cmd/placer")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a child process of the test.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error // valid after done
}

// startProc starts bin with args; it is killed (and continued first, in
// case it is stopped) at cleanup.
func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", p.name, tail(p.stderr.String(), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v", p.name, timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// procEnv runs agents and CLI commands of one test cluster.
type procEnv struct {
	agentEnv
	bin string
}

// agent starts an agent process and waits for its names record.
func (e procEnv) agent(t *testing.T, name string, extra ...string) (*proc, names.Record) {
	t.Helper()
	args := append([]string{"agent", "--name", name, "--profile", "local", "--names-dir", e.dir,
		"--cookie-file", e.cookie, "--log-format", "json", "--drain-timeout", "20s"}, extra...)
	p := startProc(t, name, e.bin, args...)
	var rec names.Record
	agentWait(t, 15*time.Second, name+" names record", func() bool {
		select {
		case <-p.done:
			t.Fatalf("%s exited: %v\n%s", name, p.err, p.stderr.String())
		default:
		}
		var ok bool
		rec, ok = names.Lookup(e.dir, name)
		return ok
	})
	return p, rec
}

// run runs a CLI command to completion and returns its exit code, stdout
// and stderr.
func (e procEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append(args, "--names-dir", e.dir)...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v hung: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// cli runs a CLI command with the cluster's cookie.
func (e procEnv) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return e.run(t, append(args, "--cookie-file", e.cookie)...)
}

// members returns `placer members --json` through node (nil on failure).
func (e procEnv) members(t *testing.T, node string) *placement.Members {
	t.Helper()
	code, out, _ := e.cli(t, "members", "--json", "--node", node, "--timeout", "2s")
	var ms placement.Members
	if code != 0 || json.Unmarshal([]byte(out), &ms) != nil {
		return nil
	}
	return &ms
}

// memberStatus returns name's status in ms ("" if absent).
func memberStatus(ms *placement.Members, name string) (string, bool) {
	if ms == nil {
		return "", false
	}
	for _, m := range ms.Members {
		if m.Name == name {
			return m.Status, m.Ring
		}
	}
	return "", false
}

// counter calls `placer call counter key` through node.
func (e procEnv) counter(t *testing.T, node, key string) (string, error) {
	code, out, errText := e.cli(t, "call", "counter", key, "--node", node, "--timeout", "2s")
	if code != 0 {
		return "", fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errText))
	}
	return strings.TrimSpace(out), nil
}

// TestAgentProcesses runs a 3-agent cluster of real processes and checks,
// from the CLI and the HTTP API: membership, keyed sends and calls, a
// wrong cookie refused, SIGSTOP/SIGCONT (failed, then rejoined), SIGTERM
// (exit 0 after handing every key off: counters keep their values) and
// SIGKILL (keys served again within seconds, state lost).
func TestAgentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the placer binary and runs agent processes")
	}
	e := procEnv{agentEnv: newAgentEnv(t), bin: buildPlacer(t)}
	p1, r1 := e.agent(t, "pp1@127.0.0.1")
	p2, _ := e.agent(t, "pp2@127.0.0.1", "--join", r1.Gossip)
	p3, _ := e.agent(t, "pp3@127.0.0.1", "--join", r1.Gossip, "--http", "off")
	for _, p := range []*proc{p1, p2, p3} { // printed just after the names record is written
		agentWait(t, 5*time.Second, p.name+" start-up line", func() bool { return strings.Contains(p.stdout.String(), "placer agent "+p.name) })
	}
	agentWait(t, 15*time.Second, "3 converged members", func() bool {
		var v placement.ViewInfo
		code, body := httpGet(t, "http://"+r1.HTTP+"/api/view")
		return code == 200 && json.Unmarshal([]byte(body), &v) == nil && v.Converged && len(v.Members) == 3
	})
	ms := e.members(t, "pp2@127.0.0.1")
	if ms == nil || len(ms.Members) != 3 || len(ms.Hidden) != 1 {
		t.Fatalf("members: %+v", ms)
	}
	if code, out, _ := e.run(t, "names", "--json"); code != 0 || strings.Count(out, `"name"`) != 3 {
		t.Fatalf("names: %d %s", code, out)
	}

	const keys = 12
	want := map[string]string{}
	for i := range keys {
		key := fmt.Sprintf("k%d", i)
		want[key] = strconv.Itoa(i + 1)
		if code, _, errText := e.cli(t, "send", "counter", key, want[key]); code != 0 {
			t.Fatalf("send %s: %s", key, errText)
		}
	}
	checkCounters(t, e, "pp1@127.0.0.1", want)

	bad := filepath.Join(t.TempDir(), "bad-cookie")
	if err := os.WriteFile(bad, []byte(strings.Repeat("w", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errText := e.run(t, "members", "--cookie-file", bad, "--node", "pp1@127.0.0.1"); code != 1 ||
		!strings.Contains(errText, "authentication failed") {
		t.Fatalf("wrong cookie: exit %d %q", code, errText)
	}
	if code, body := httpGet(t, "http://"+r1.HTTP+"/metrics"); code != 200 || !strings.Contains(body, "placer_up 1") ||
		!strings.Contains(body, `placer_view_members{node="pp1@127.0.0.1"} 3`) {
		t.Fatalf("metrics: %d %.500s", code, body)
	}

	stopCont(t, e, p3)
	checkCounters(t, e, "pp1@127.0.0.1", want)

	p3.signal(t, syscall.SIGTERM)
	if code := p3.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	if _, ok := names.Lookup(e.dir, "pp3@127.0.0.1"); ok {
		t.Fatal("pp3's names record left after SIGTERM")
	}
	checkCounters(t, e, "pp1@127.0.0.1", want)

	killReowns(t, e, p2, want)

	p1.signal(t, syscall.SIGTERM)
	if code := p1.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("last agent SIGTERM: exit %d", code)
	}
}

// checkCounters reads every counter through node until it has its value.
func checkCounters(t *testing.T, e procEnv, node string, want map[string]string) {
	t.Helper()
	for key, v := range want {
		var got string
		var err error
		agentWait(t, 10*time.Second, "counter "+key+" = "+v, func() bool {
			got, err = e.counter(t, node, key)
			return got == v
		})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
}

// stopCont freezes p with SIGSTOP until the others mark it failed, then
// continues it and waits for it to rejoin; a monitor streams both.
func stopCont(t *testing.T, e procEnv, p *proc) {
	t.Helper()
	mon := startProc(t, "monitor", e.bin, "monitor", "--json", "--timeout", "60s", "--node", "pp1@127.0.0.1",
		"--names-dir", e.dir, "--cookie-file", e.cookie)
	agentWait(t, 10*time.Second, "monitor subscribed", func() bool { return strings.Contains(mon.stdout.String(), `"type":"agent"`) })
	start := time.Now()
	p.signal(t, syscall.SIGSTOP)
	agentWait(t, 15*time.Second, p.name+" marked failed", func() bool {
		st, _ := memberStatus(e.members(t, "pp1@127.0.0.1"), p.name)
		return st == "failed"
	})
	t.Logf("SIGSTOP: %s marked failed after %v", p.name, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	p.signal(t, syscall.SIGCONT)
	agentWait(t, 20*time.Second, p.name+" rejoined", func() bool {
		st, ring := memberStatus(e.members(t, "pp1@127.0.0.1"), p.name)
		return st == "alive" && ring
	})
	t.Logf("SIGCONT: %s alive again after %v", p.name, time.Since(start).Round(time.Millisecond))
	agentWait(t, 10*time.Second, "monitor saw nodedown and nodeup", func() bool {
		out := mon.stdout.String()
		return strings.Contains(out, `"type":"nodedown"`) && strings.Contains(out, `"type":"nodeup"`)
	})
	mon.signal(t, syscall.SIGINT)
	if code := mon.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("monitor exit %d on SIGINT", code)
	}
}

// killReowns kills p with SIGKILL and checks that the keys it owned are
// served again (restarted fresh: 0) within seconds while the others keep
// their values.
func killReowns(t *testing.T, e procEnv, p *proc, want map[string]string) {
	t.Helper()
	owned := map[string]bool{}
	for key := range want {
		code, out, _ := e.cli(t, "lookup", key, "--json", "--node", "pp1@127.0.0.1")
		var lk placement.Lookup
		if code != 0 || json.Unmarshal([]byte(out), &lk) != nil {
			t.Fatalf("lookup %s: %d %s", key, code, out)
		}
		owned[key] = lk.Owner == p.name
	}
	start := time.Now()
	p.signal(t, syscall.SIGKILL)
	p.wait(t, 10*time.Second)
	for key, v := range want {
		if owned[key] {
			v = "0" // its process died with the node: restarted fresh
		}
		var got string
		agentWait(t, 15*time.Second, "key "+key+" served again", func() bool {
			got, _ = e.counter(t, "pp1@127.0.0.1", key)
			return got != ""
		})
		if got != v {
			t.Fatalf("%s after SIGKILL: %s, want %s (owned by the killed node: %v)", key, got, v, owned[key])
		}
	}
	t.Logf("SIGKILL: every key served again %v after the kill", time.Since(start).Round(time.Millisecond))
	if code, out, _ := e.run(t, "names"); code != 0 || strings.Contains(out, p.name) {
		t.Fatalf("names after SIGKILL lists the dead agent: %s", out)
	}
}
