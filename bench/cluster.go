package bench

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// ClusterConfig sizes `placer bench cluster`. Zero fields take the
// defaults of DefaultClusterConfig; RunCluster refuses any other value out
// of range with ErrBadConfig.
type ClusterConfig struct {
	// Nodes is the cluster size of each phase (the join phase grows it by
	// one). Default 5; range 2..32.
	Nodes int `json:"nodes"`
	// Keys is the number of stateful keyed processes. Default 10,000.
	Keys int `json:"keys"`
	// Senders is the number of goroutines sending to the keys during the
	// leave phase. Default 8.
	Senders int `json:"senders"`
	// Rate is the total send rate during the leave phase, in messages per
	// second. Default 20,000: continuous traffic that touches every key
	// while it moves, below what would starve Serf's failure detector on a
	// small machine.
	Rate int `json:"rate"`
	// Placer is the placer binary whose agents the replication phases run
	// as processes (SIGKILL, SIGSTOP and restarts need processes).
	// Required when one of those phases runs.
	Placer string `json:"-"`
	// Phases, if set, runs only these phases (memory, join, leave, kill,
	// heal, global, global heal, repl latency, repl kill, rolling restart,
	// pause), in the usual order; an unknown name is refused. The targets
	// of phases that did not run are reported unmet. Default: every phase (the command has no flag
	// for it: a library option).
	Phases []string `json:"phases,omitempty"`
	// Progress, if set, is told what each step does.
	Progress func(step string) `json:"-"`
}

// DefaultClusterConfig returns the sizes `placer bench cluster` uses.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{Nodes: 5, Keys: 10_000, Senders: 8, Rate: 20_000}
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	d := DefaultClusterConfig()
	for _, f := range []struct{ v, def *int }{
		{&c.Nodes, &d.Nodes}, {&c.Keys, &d.Keys}, {&c.Senders, &d.Senders}, {&c.Rate, &d.Rate},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return c
}

func (c ClusterConfig) validate() error {
	if c.Keys < 0 || c.Senders < 0 || c.Rate < 0 {
		return fmt.Errorf("%w: keys %d, senders %d and rate %d must not be negative (0 = default)", ErrBadConfig, c.Keys, c.Senders, c.Rate)
	}
	if c.Nodes < 2 || c.Nodes > 32 {
		return fmt.Errorf("%w: nodes %d not in 2..32", ErrBadConfig, c.Nodes)
	}
	for _, name := range c.Phases {
		if !slices.ContainsFunc(clusterPhases, func(p clusterPhase) bool { return p.name == name }) {
			return fmt.Errorf("%w: unknown phase %q (phases: %s)", ErrBadConfig, name, phaseNames())
		}
	}
	if c.runsProcesses() {
		if c.Placer == "" {
			return fmt.Errorf("%w: the replication phases need the placer binary (ClusterConfig.Placer)", ErrBadConfig)
		}
		if _, err := exec.LookPath(c.Placer); err != nil {
			return fmt.Errorf("%w: placer binary: %w", ErrBadConfig, err)
		}
	}
	if c.Keys > 1_000_000 {
		return fmt.Errorf("%w: keys %d above 1,000,000", ErrBadConfig, c.Keys)
	}
	return nil
}

// clusterPhase is one phase of RunCluster; procs marks the phases that
// run `placer agent` processes (and so need ClusterConfig.Placer).
type clusterPhase struct {
	name  string
	run   func(context.Context, ClusterConfig, *ClusterResult) error
	procs bool
}

// clusterPhases are RunCluster's phases, in order.
var clusterPhases = []clusterPhase{
	{name: "memory", run: clusterMemory}, // first: no earlier phase's memory is still being freed
	{name: "join", run: clusterJoin}, {name: "leave", run: clusterLeave}, {name: "kill", run: clusterKill}, {name: "heal", run: clusterHeal},
	{name: "global", run: clusterGlobal}, {name: "global heal", run: clusterGlobalHeal},
	{name: "repl latency", run: clusterReplLatency},
	{name: "repl kill", run: clusterReplKill, procs: true},
	{name: "rolling restart", run: clusterRollingRestart, procs: true},
	{name: "pause", run: clusterPause, procs: true},
}

// phaseNames lists the phases, comma-separated.
func phaseNames() string {
	names := make([]string, len(clusterPhases))
	for i, p := range clusterPhases {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// runs reports whether the phase named name is to run.
func (c ClusterConfig) runs(name string) bool {
	return len(c.Phases) == 0 || slices.Contains(c.Phases, name)
}

// runsProcesses reports whether one of the phases to run starts agent
// processes (and so needs Placer).
func (c ClusterConfig) runsProcesses() bool {
	return slices.ContainsFunc(clusterPhases, func(p clusterPhase) bool { return p.procs && c.runs(p.name) })
}

// ClusterResult holds the figures of one run. The first eight JSON field
// names are the ones issue 5 specifies; every figure is measured on an
// in-process cluster (TCP transport and real Serf, local profile, on
// 127.0.0.1), each phase on a fresh cluster.
type ClusterResult struct {
	// JoinRebalanceMS: from starting node Nodes+1 until every key lives,
	// active, on its owner in the new view (views converged and every
	// handoff finished).
	JoinRebalanceMS float64 `json:"join_rebalance_ms"`
	// JoinMovedRatio: keys that changed node, divided by the ideal
	// Keys/(Nodes+1).
	JoinMovedRatio float64 `json:"join_moved_ratio"`
	// LeaveHandoffMS: from Drain (the first step of Leave) on a node
	// hosting its share of the keys, under continuous traffic, until it
	// hosts nothing.
	LeaveHandoffMS float64 `json:"leave_handoff_ms"`
	// LeaveLostStates: keys whose process restarted fresh (state lost)
	// during the leave.
	LeaveLostStates int `json:"leave_lost_states"`
	// LeaveLostMessages: messages whose Send returned nil but that no
	// process counted.
	LeaveLostMessages int64 `json:"leave_lost_messages"`
	// KillReownedMS: from stopping a node without a leave until every key
	// it hosted answered a call again (restarted on its new owner).
	KillReownedMS float64 `json:"kill_reowned_ms"`
	// HealConvergedMS: from Serf reporting the merge of a healed
	// partition (every node's view holds every member again) until
	// exactly one process per key remains.
	HealConvergedMS float64 `json:"heal_converged_ms"`
	// HealDuplicatesLeft: keys with more than one process 5 s after the
	// merge (or when they were resolved, if sooner).
	HealDuplicatesLeft int `json:"heal_duplicates_left"`

	// JoinViewConvergedMS: from starting the new node until every view
	// holds it (gossip plus view building).
	JoinViewConvergedMS float64 `json:"join_view_converged_ms"`
	// JoinMoved: keys that changed node in the join; JoinIdeal is
	// Keys/(Nodes+1) and JoinRingMoved the keys whose owner the ring math
	// says changed (moved must equal it).
	JoinMoved     int     `json:"join_moved"`
	JoinIdeal     float64 `json:"join_ideal"`
	JoinRingMoved int     `json:"join_ring_moved"`
	// LeaveKeys: keys the leaving node hosted; LeaveMessages: messages
	// sent (Send returned nil) during the leave phase; LeaveSendErrors:
	// Sends that returned an error (not lost: the sender knows).
	LeaveKeys       int   `json:"leave_keys"`
	LeaveMessages   int64 `json:"leave_messages"`
	LeaveSendErrors int64 `json:"leave_send_errors"`
	// LeaveInLostCopies: messages found only in the state of a copy that
	// lost a conflict (handed to Config.Conflict: accounted for, not in the
	// surviving state); LeaveConflicts: conflicts resolved meanwhile;
	// LeaveFalseFailures: members seen failed and back although none
	// failed (a stall past the local profile's detection). All three are 0
	// unless the machine stalled a node; LeaveDisordered: messages seen out
	// of order per sender.
	LeaveInLostCopies  int64  `json:"leave_in_lost_copies"`
	LeaveConflicts     int    `json:"leave_conflicts"`
	LeaveFalseFailures uint64 `json:"leave_false_failures"`
	LeaveDisordered    int64  `json:"leave_disordered"`
	// LeaveBuffered: requests that reached a key while it was in
	// transition (moving, importing, pulling) and waited in its buffer:
	// the traffic that actually crossed a handoff.
	LeaveBuffered uint64 `json:"leave_buffered"`
	// LeaveTotalMS: the whole Leave (drain, view convergence, Serf
	// leave, shutdown).
	LeaveTotalMS float64 `json:"leave_total_ms"`
	// KillKeys: keys the killed node hosted; KillViewMS: from the kill
	// until every survivor's view dropped it (Serf failure detection).
	KillKeys   int     `json:"kill_keys"`
	KillViewMS float64 `json:"kill_view_ms"`
	// HealDuplicates: keys live on both sides before the heal;
	// HealConflicts: conflicts resolved; HealMergeMS: from the heal of
	// the network until Serf reported the merge.
	HealDuplicates int     `json:"heal_duplicates"`
	HealConflicts  uint64  `json:"heal_conflicts"`
	HealMergeMS    float64 `json:"heal_merge_ms"`

	// Replication (issue 11). ReplCallP50US, ReplCallP99US: a write Call
	// ("inc") from one node to a key another node owns, of a kind with
	// R = 2 (answered once the backup stored the new state); CallP50US,
	// CallP99US: the same call to the same keys with R = 1, alternating
	// with them in the same run (in-process, 3 nodes, TCP on 127.0.0.1).
	ReplCallP50US float64 `json:"repl_call_p50_us"`
	ReplCallP99US float64 `json:"repl_call_p99_us"`
	CallP50US     float64 `json:"call_p50_us"`
	CallP99US     float64 `json:"call_p99_us"`
	// ReplAsyncCallP50US: the same call with R = 2 in async mode (answered
	// before the backup has it; the backup trails by at most MaxLag).
	ReplAsyncCallP50US float64 `json:"repl_async_call_p50_us"`
	// The process phases: Nodes agent processes, kv with R = 2, Keys
	// keys, Senders writers; each write adds a field of its own, and every
	// acknowledged one is looked for afterwards.
	//
	// KillAckedWrites: writes acknowledged before the SIGKILL of one
	// agent; KillLostAckedWrites: how many of them were not found
	// afterwards. KillReplReownedMS: from the kill until every key whose
	// primary was on the dead agent (KillReplKeys) answered a read again.
	// RereplicatedMS: from the kill until every key had two copies on the
	// survivors again.
	KillAckedWrites     int64   `json:"kill_acked_writes"`
	KillLostAckedWrites int64   `json:"kill_lost_acked_writes"`
	KillReplReownedMS   float64 `json:"kill_repl_reowned_ms"`
	RereplicatedMS      float64 `json:"rereplicated_ms"`
	// RollingRestartLostAckedWrites: acknowledged writes not found after
	// every agent was restarted in turn (SIGTERM, start again, rejoin).
	RollingRestartLostAckedWrites int64 `json:"rolling_restart_lost_acked_writes"`
	// PauseLostAckedWrites: acknowledged writes not found after one agent
	// was stopped (SIGSTOP) for 3 s, declared failed, and continued.
	PauseLostAckedWrites int64 `json:"pause_lost_acked_writes"`
	// PassivatedBytesPerKey, LiveBytesPerKey: heap and stacks per key of
	// Keys keys on one node, passivated (exported state kept) and live (a
	// process each); PassiveStateBytes: the exported state per key.
	PassivatedBytesPerKey float64 `json:"passivated_bytes_per_key"`
	LiveBytesPerKey       float64 `json:"live_bytes_per_key"`
	PassiveStateBytes     int     `json:"passive_state_bytes"`

	// KillReplKeys: primaries on the killed agent. KillAfterAckedWrites,
	// KillAfterLostAckedWrites: writes acknowledged after the kill (during
	// the failover and after) and how many of them were not found.
	// KillFailedWrites: writes that returned an error (the writer knows:
	// not acknowledged, not lost). KillFirstLost names a lost write.
	KillReplKeys             int    `json:"kill_repl_keys"`
	KillAfterAckedWrites     int64  `json:"kill_after_acked_writes"`
	KillAfterLostAckedWrites int64  `json:"kill_after_lost_acked_writes"`
	KillFailedWrites         int64  `json:"kill_failed_writes"`
	KillFirstLost            string `json:"kill_first_lost,omitempty"`
	// RollingRestartMS: the whole rolling restart; RollingRestartAckedWrites
	// and RollingRestartFailedWrites: the writes during the phase.
	RollingRestartMS           float64 `json:"rolling_restart_ms"`
	RollingRestartAckedWrites  int64   `json:"rolling_restart_acked_writes"`
	RollingRestartFailedWrites int64   `json:"rolling_restart_failed_writes"`
	RollingRestartFirstLost    string  `json:"rolling_restart_first_lost,omitempty"`
	// PauseDetectedMS: from the SIGSTOP until the first agent saw the
	// stopped one failed; PauseAckedWrites, PauseFailedWrites: the writes
	// during the phase.
	PauseDetectedMS   float64 `json:"pause_detected_ms"`
	PauseAckedWrites  int64   `json:"pause_acked_writes"`
	PauseFailedWrites int64   `json:"pause_failed_writes"`
	PauseFirstLost    string  `json:"pause_first_lost,omitempty"`

	// GlobalFigures: global names, locks and groups (issue 12), each phase
	// on a fresh cluster; embedded, so their JSON fields sit beside the
	// others.
	GlobalFigures

	// Targets are the targets, evaluated on this run.
	Targets []Target      `json:"targets"`
	Config  ClusterConfig `json:"config"`
}

// RunCluster runs the phases, each on a fresh cluster: join, leave, kill
// and heal in-process; the replicated call latency and the memory per
// key in-process; a SIGKILL, a rolling restart and a SIGSTOP of agent
// processes with R = 2. Then it evaluates the targets.
func RunCluster(ctx context.Context, cfg ClusterConfig) (ClusterResult, error) {
	cfg = cfg.withDefaults()
	res := ClusterResult{Config: cfg}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	for _, p := range clusterPhases {
		if !cfg.runs(p.name) {
			continue
		}
		cfg.progress("phase " + p.name)
		if err := p.run(ctx, cfg, &res); err != nil {
			return res, fmt.Errorf("bench cluster: %s: %w", p.name, err)
		}
	}
	res.Targets = clusterTargets(res)
	return res, nil
}

func (c ClusterConfig) progress(step string) {
	if c.Progress != nil {
		c.Progress(step)
	}
}

// clusterTargets evaluates issue 5's, issue 11's and issue 12's targets.
func clusterTargets(r ClusterResult) []Target {
	t := func(name string, v, limit float64) Target {
		return Target{Name: name, Value: v, Limit: limit, Met: v <= limit}
	}
	return append([]Target{
		t("leave_handoff_ms <= 1000", r.LeaveHandoffMS, 1000),
		t("leave_lost_states = 0", float64(r.LeaveLostStates), 0),
		t("leave_lost_messages = 0", float64(r.LeaveLostMessages), 0),
		t("join_moved_ratio <= 1.05", r.JoinMovedRatio, 1.05),
		t("kill_reowned_ms <= 3000 (local profile)", r.KillReownedMS, 3000),
		t("heal_duplicates_left = 0 (5 s after the merge)", float64(r.HealDuplicatesLeft), 0),
		t("kill_lost_acked_writes = 0 (R = 2)", float64(r.KillLostAckedWrites), 0),
		t("rolling_restart_lost_acked_writes = 0 (R = 2)", float64(r.RollingRestartLostAckedWrites), 0),
		t("pause_lost_acked_writes = 0 (R = 2, 3 s SIGSTOP)", float64(r.PauseLostAckedWrites), 0),
		t("repl_call_p50_us / call_p50_us <= 2", ratio(r.ReplCallP50US, r.CallP50US), 2),
		t("kill_repl_reowned_ms <= 3000 (local profile)", r.KillReplReownedMS, 3000),
		t("rereplicated_ms <= 2000", r.RereplicatedMS, 2000),
	}, globalTargets(r.GlobalFigures)...)
}

// globalTargets evaluates issue 12's targets: ratios to call_p50_us of the
// same run.
func globalTargets(g GlobalFigures) []Target {
	ratio := func(name string, v float64) Target {
		x := v / max(g.CallP50us, 1e-9)
		return Target{Name: name + " <= 3 x global_call_p50_us", Value: x, Limit: 3, Met: x <= 3}
	}
	abs := func(name string, v, limit float64) Target {
		return Target{Name: name, Value: v, Limit: limit, Met: v <= limit}
	}
	return []Target{
		ratio("global_register_p50_us", g.GlobalRegisterP50us),
		abs("global_whereis_p50_us <= 2", g.GlobalWhereisP50us, 2),
		ratio("lock_roundtrip_p50_us", g.LockRoundtripP50us),
		ratio("group_join_visible_p50_us", g.GroupJoinVisibleP50us),
		abs("group_members_p50_us <= 2", g.GroupMembersP50us, 2),
		abs("heal_name_duplicates_left = 0 (5 s after the merge)", float64(g.HealNameDuplicatesLeft), 0),
	}
}

func clusterMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ratio is a/b, or the largest float64 when b is 0 (nothing measured:
// the target fails; JSON has no infinity).
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.MaxFloat64
	}
	return a / b
}
