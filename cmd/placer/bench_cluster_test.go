package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/leakcheck"
)

// verifyNoLeaks checks for leftover goroutines, giving Serf's and
// memberlist's asynchronous shutdown a few seconds.
func verifyNoLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	leakcheck.Verify(t, 10*time.Second, opts...)
}

// A tiny run: one JSON object with issue 5's and issue 11's field names,
// sane values, and the targets; the graceful leave, the SIGKILL, the
// rolling restart and the SIGSTOP lose nothing even at this size.
func TestBenchClusterJSON(t *testing.T) {
	bin := sharedPlacer(t)
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	var out, errb bytes.Buffer
	args := []string{"bench", "cluster", "--nodes", "3", "--keys", "300", "--rate", "3000", "--senders", "3", "--json", "--placer", bin}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&got); err != nil || dec.More() {
		t.Fatalf("not one JSON object: %v", err)
	}
	for _, k := range []string{"join_rebalance_ms", "join_moved_ratio", "leave_handoff_ms", "kill_reowned_ms", "heal_converged_ms", "heal_duplicates_left"} {
		if v, ok := got[k].(float64); !ok || !(v >= 0) {
			t.Errorf("%s = %v, want a measured number", k, got[k])
		}
	}
	for _, k := range []string{"join_rebalance_ms", "join_moved_ratio", "leave_handoff_ms", "kill_reowned_ms"} {
		if v, _ := got[k].(float64); v <= 0 {
			t.Errorf("%s = %v, want > 0", k, v)
		}
	}
	// Correctness, not speed (heal_duplicates_left is a timed figure, for
	// the report's targets): nothing is lost, nothing reordered.
	for _, k := range []string{"leave_lost_states", "leave_lost_messages", "leave_disordered"} {
		if v, ok := got[k].(float64); !ok || v != 0 {
			t.Errorf("%s = %v, want 0", k, got[k])
		}
	}
	if v, _ := got["leave_messages"].(float64); v <= 0 {
		t.Errorf("no traffic during the leave: leave_messages = %v", got["leave_messages"])
	}
	if v, _ := got["heal_duplicates"].(float64); v <= 0 {
		t.Errorf("the partition made no duplicates: %v", got["heal_duplicates"])
	}
	for _, k := range []string{"repl_call_p50_us", "repl_call_p99_us", "call_p50_us", "call_p99_us", "kill_acked_writes",
		"kill_repl_reowned_ms", "rereplicated_ms", "passivated_bytes_per_key", "live_bytes_per_key"} {
		if v, _ := got[k].(float64); !(v > 0) {
			t.Errorf("%s = %v, want a measured number > 0", k, got[k])
		}
	}
	for _, k := range []string{"kill_lost_acked_writes", "kill_after_lost_acked_writes", "rolling_restart_lost_acked_writes", "pause_lost_acked_writes"} {
		if v, ok := got[k].(float64); !ok || v != 0 {
			t.Errorf("%s = %v, want 0", k, got[k])
		}
	}
	for _, k := range []string{"rolling_restart_acked_writes", "pause_acked_writes", "kill_after_acked_writes"} {
		if v, _ := got[k].(float64); v <= 0 {
			t.Errorf("no writes in a process phase: %s = %v", k, got[k])
		}
	}
	if ts, ok := got["targets"].([]any); !ok || len(ts) != 18 { // issue 5's six, 11's six, 12's six
		t.Errorf("targets = %v", got["targets"])
	}
	for _, k := range []string{"global_call_p50_us", "global_register_p50_us", "global_whereis_p50_us", "lock_roundtrip_p50_us",
		"lock_trans_p50_us", "group_join_visible_p50_us", "group_members_p50_us", "heal_name_conflicts_resolved_ms"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want > 0 (issue 12)", k, got[k])
		}
	}
	if !strings.Contains(errb.String(), "phase heal") {
		t.Errorf("no progress on stderr: %q", errb.String())
	}
}

func TestBenchClusterUsage(t *testing.T) {
	for _, args := range [][]string{{"--nodes", "1"}, {"--keys", "0"}, {"extra"}, {"--nope"}, {"--placer", "/nonexistent/placer"}} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"bench", "cluster"}, args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}
