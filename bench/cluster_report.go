package bench

import (
	"fmt"

	"github.com/placerhq/placer/internal/chart"
)

// ClusterTable lays out a cluster result: issue 5's eight figures and
// issue 11's replication figures, each followed by the figures that
// explain them.
func ClusterTable(r ClusterResult) *chart.Table {
	t := &chart.Table{Header: []string{"figure", "value", "unit", "what"}}
	f := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	d := func(v int64) string { return fmt.Sprintf("%d", v) }
	t.Add("join_rebalance_ms", f(r.JoinRebalanceMS), "ms", "new node started -> every key on its owner")
	t.Add("join_moved_ratio", fmt.Sprintf("%.3f", r.JoinMovedRatio), "", fmt.Sprintf("%d moved / ideal %.0f", r.JoinMoved, r.JoinIdeal))
	t.Add("leave_handoff_ms", f(r.LeaveHandoffMS), "ms", fmt.Sprintf("drain of %d keys under traffic", r.LeaveKeys))
	t.Add("leave_lost_states", d(int64(r.LeaveLostStates)), "keys", "restarted fresh during the leave")
	t.Add("leave_lost_messages", d(r.LeaveLostMessages), "msgs", fmt.Sprintf("of %d sent during the leave", r.LeaveMessages))
	t.Add("kill_reowned_ms", f(r.KillReownedMS), "ms", fmt.Sprintf("kill -> all %d of its keys served again", r.KillKeys))
	t.Add("heal_converged_ms", f(r.HealConvergedMS), "ms", "views merged -> one process per key")
	t.Add("heal_duplicates_left", d(int64(r.HealDuplicatesLeft)), "keys", fmt.Sprintf("of %d duplicates, 5 s after the merge", r.HealDuplicates))
	t.Add("  join_view_converged_ms", f(r.JoinViewConvergedMS), "ms", "new node started -> every view holds it")
	t.Add("  join_ring_moved", d(int64(r.JoinRingMoved)), "keys", "owner changed per the ring math")
	t.Add("  leave_total_ms", f(r.LeaveTotalMS), "ms", "drain + view convergence + Serf leave + shutdown")
	t.Add("  leave_send_errors", d(r.LeaveSendErrors), "msgs", "sends refused to the sender (not lost)")
	t.Add("  leave_buffered", d(int64(r.LeaveBuffered)), "msgs", "sent to a key while it moved (waited, then delivered)")
	t.Add("  kill_view_ms", f(r.KillViewMS), "ms", "kill -> every survivor's view dropped it")
	t.Add("  heal_merge_ms", f(r.HealMergeMS), "ms", "network healed -> views merged")
	t.Add("  heal_conflicts", d(int64(r.HealConflicts)), "keys", "duplicates resolved by the heal-time owner")
	t.Add("repl_call_p50_us", f(r.ReplCallP50US), "µs", fmt.Sprintf("write call, R = 2 (p99 %.1f)", r.ReplCallP99US))
	t.Add("call_p50_us", f(r.CallP50US), "µs", fmt.Sprintf("the same call, R = 1 (p99 %.1f)", r.CallP99US))
	t.Add("  repl_async_call_p50_us", f(r.ReplAsyncCallP50US), "µs", "the same call, R = 2 async")
	t.Add("kill_acked_writes", d(r.KillAckedWrites), "writes", "acknowledged before the SIGKILL (R = 2)")
	t.Add("kill_lost_acked_writes", d(r.KillLostAckedWrites), "writes", "of them not found afterwards")
	t.Add("kill_repl_reowned_ms", f(r.KillReplReownedMS), "ms", fmt.Sprintf("kill -> all %d of its primaries served again", r.KillReplKeys))
	t.Add("rereplicated_ms", f(r.RereplicatedMS), "ms", "kill -> two copies of every key again")
	t.Add("  kill_after_lost_acked_writes", d(r.KillAfterLostAckedWrites), "writes", fmt.Sprintf("of %d acknowledged after the kill", r.KillAfterAckedWrites))
	t.Add("  kill_failed_writes", d(r.KillFailedWrites), "writes", "refused or timed out (the writer knows)")
	t.Add("rolling_restart_lost_acked_writes", d(r.RollingRestartLostAckedWrites), "writes", fmt.Sprintf("of %d acknowledged while every agent restarted", r.RollingRestartAckedWrites))
	t.Add("  rolling_restart_ms", f(r.RollingRestartMS), "ms", fmt.Sprintf("the whole restart; %d writes failed", r.RollingRestartFailedWrites))
	t.Add("pause_lost_acked_writes", d(r.PauseLostAckedWrites), "writes", fmt.Sprintf("of %d acknowledged around a 3 s SIGSTOP", r.PauseAckedWrites))
	t.Add("  pause_detected_ms", f(r.PauseDetectedMS), "ms", fmt.Sprintf("SIGSTOP -> seen failed; %d writes failed", r.PauseFailedWrites))
	t.Add("passivated_bytes_per_key", f(r.PassivatedBytesPerKey), "B", fmt.Sprintf("heap per passivated key (state %d B)", r.PassiveStateBytes))
	t.Add("live_bytes_per_key", f(r.LiveBytesPerKey), "B", "heap and stack per live key")
	addGlobalRows(t, r.GlobalFigures)
	return t
}

// addGlobalRows lays out issue 12's figures: names, locks, groups.
func addGlobalRows(t *chart.Table, g GlobalFigures) {
	us := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	x := func(v float64) string { return fmt.Sprintf("%.2f x call", v/max(g.CallP50us, 1e-9)) }
	t.Add("global_call_p50_us", us(g.CallP50us), "µs", "node call to a process on another node (the baseline of these ratios)")
	t.Add("global_register_p50_us", us(g.GlobalRegisterP50us), "µs", "RegisterName of a new name: "+x(g.GlobalRegisterP50us))
	t.Add("global_whereis_p50_us", fmt.Sprintf("%.3f", g.GlobalWhereisP50us), "µs", "WhereisName: a local read")
	t.Add("lock_roundtrip_p50_us", us(g.LockRoundtripP50us), "µs", "SetLock + DelLock: "+x(g.LockRoundtripP50us))
	t.Add("lock_trans_p50_us", us(g.LockTransP50us), "µs", "Trans of an empty function: "+x(g.LockTransP50us))
	t.Add("group_join_visible_p50_us", us(g.GroupJoinVisibleP50us), "µs", "pg Join until every node's Members shows it: "+x(g.GroupJoinVisibleP50us))
	t.Add("group_members_p50_us", fmt.Sprintf("%.3f", g.GroupMembersP50us), "µs", "pg Members: a local read")
	t.Add("heal_name_conflicts_resolved_ms", fmt.Sprintf("%.1f", g.HealNameConflictsResolvedMS), "ms",
		"merge -> one holder of each doubly registered name, everywhere")
	t.Add("  keyed_call_p50_us", us(g.KeyedCallP50us), "µs", "Cluster.Call to a keyed process on another node")
	t.Add("  global_register_p99_us", us(g.GlobalRegisterP99us), "µs", "")
	t.Add("  global_reregister_p50_us", us(g.GlobalReregisterP50us), "µs", "RegisterName whose authority runs (no process start): "+x(g.GlobalReregisterP50us))
	t.Add("  heal_name_conflicts", fmt.Sprintf("%d", g.HealNameConflicts), "names", "conflicts the authorities resolved (losers told)")
	t.Add("  heal_name_duplicates_left", fmt.Sprintf("%d", g.HealNameDuplicatesLeft), "names", "still disputed 5 s after the merge")
}

// ClusterTargetTable lays out the targets of a cluster result (values
// with enough digits for a ratio near 1).
func ClusterTargetTable(ts []Target) *chart.Table { return targetTable(ts, "%.4g") }
