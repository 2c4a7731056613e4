package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/placement/global"
)

// TestGlobalGroupLockCommands drives `placer global`, `group` and `lock`
// against two in-process agents, and the agents' /api/names, /api/groups
// and /api/locks.
func TestGlobalGroupLockCommands(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	env := newAgentEnv(t)
	a1 := env.start(t, "gl1@127.0.0.1")
	a2 := env.start(t, "gl2@127.0.0.1", "--join", a1.Info().Gossip, "--http", "off")
	agentWait(t, 10*time.Second, "two ring members", func() bool {
		return len(a1.Cluster().View().Members) == 2 && len(a2.Cluster().View().Members) == 2
	})
	must := func(want string, args ...string) string {
		t.Helper()
		code, out, errText := env.cli(append(args, "--node", "gl1@127.0.0.1")...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%v: exit %d %q %q, want %q", args, code, out, errText, want)
		}
		return out
	}
	out := must("registered as todo_list/bob", "global", "start", "todo_list/bob", "echo", "--on", "gl2@127.0.0.1")
	pid := strings.Fields(out)[0]
	must(pid, "global", "whereis", "todo_list/bob")
	must("todo_list/bob", "global", "list")
	must("hello", "global", "call", "todo_list/bob", "hello")
	must("ok", "global", "send", "todo_list/bob", "hi")
	if code, _, errText := env.cli("global", "start", "todo_list/bob", "echo"); code != 1 || !strings.Contains(errText, "taken") {
		t.Fatalf("second start: %d %q", code, errText)
	}

	must("ok", "group", "join", "workers", pid, "--node", "gl2@127.0.0.1")
	agentWait(t, 5*time.Second, "the join seen on gl1", func() bool { return len(a1.Groups().Members("workers")) == 1 })
	must(pid, "group", "members", "workers")
	must("workers", "group", "which")

	code, out, errText := env.lockRun("res", "sh", "-c", "echo token=$PLACER_FENCING_TOKEN id=$PLACER_LOCK_ID")
	if code != 0 {
		t.Fatalf("lock run: %d %q %q", code, out, errText)
	}
	if tok, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(strings.Fields(out)[0], "token="), "\n"), 10, 64); tok == 0 || !strings.Contains(out, "id=res") {
		t.Fatalf("lock run output %q", out)
	}
	must("free", "lock", "status", "res")
	if code, _, _ := env.lockRun("res", "false"); code != 1 {
		t.Fatalf("a failing command: exit %d", code)
	}
	holdAndCheckBusy(t, env, a1.Global())
	checkServicesHTTP(t, "http://"+a1.Info().HTTP)
	must("ok", "global", "unregister", "todo_list/bob")
	// Through the agent that unregistered (its replica has the answer at
	// once; another agent's learns it one dissemination later).
	if code, _, _ := env.cli("global", "whereis", "todo_list/bob", "--node", "gl1@127.0.0.1"); code != 1 {
		t.Fatalf("whereis after unregister: exit %d", code)
	}
	_ = a2.Close()
	_ = a1.Close()
}

// holdAndCheckBusy holds lock res from an agent's process: lock run
// --nonblock fails, lock status names the holder.
func holdAndCheckBusy(t *testing.T, env agentEnv, g *global.Service) {
	t.Helper()
	ib, err := g.Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := g.SetLock(ctx, "res", ib.Self(), global.LockOpts{}); err != nil {
		t.Fatal(err)
	}
	if code, _, errText := env.lockRun("res", "--nonblock", "--", "true"); code != 1 || !strings.Contains(errText, "busy") {
		t.Fatalf("nonblock while held: %d %q", code, errText)
	}
	if code, out, _ := env.cli("lock", "status", "res", "--json"); code != 0 || !strings.Contains(out, ib.Self().Node) {
		t.Fatalf("status while held: %d %q", code, out)
	}
}

// checkServicesHTTP reads the three cluster-service endpoints.
func checkServicesHTTP(t *testing.T, base string) {
	t.Helper()
	for path, want := range map[string]string{"/api/names": "todo_list/bob", "/api/groups": "workers", "/api/locks": `"id":"res"`} {
		code, body := httpGet(t, base+path)
		var v map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &v) != nil || !strings.Contains(body, want) {
			t.Fatalf("GET %s: %d %q", path, code, body)
		}
	}
}

// lockRun runs `placer lock run ID [flags] -- CMD...` against the env (the
// env's flags go before the "--"; cmd may start with more flags and its
// own "--").
func (e agentEnv) lockRun(id string, cmd ...string) (int, string, string) {
	var out, errb bytes.Buffer
	args := []string{"lock", "run", id, "--names-dir", e.dir, "--cookie-file", e.cookie}
	if !slices.Contains(cmd, "--") {
		cmd = append([]string{"--"}, cmd...)
	}
	code := run(append(args, cmd...), &out, &errb)
	return code, out.String(), errb.String()
}
