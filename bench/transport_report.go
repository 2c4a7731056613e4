package bench

import (
	"fmt"

	"github.com/placerhq/placer/internal/chart"
)

// TransportTable lays out a transport result: each figure beside its
// raw-TCP baseline from the same run.
func TransportTable(r TransportResult) *chart.Table {
	t := &chart.Table{Header: []string{"figure", "transport", "raw TCP", "unit"}}
	num := func(x float64) string { return fmt.Sprintf("%.1f", x) }
	t.Add("msgs_per_s / tcp_frames_per_s", fmt.Sprintf("%.0f", r.MsgsPerS), fmt.Sprintf("%.0f", r.TCPFramesPerS), "msg/s")
	t.Add("call_rtt_p50_us / tcp_rtt_p50_us", num(r.CallRTTP50us), num(r.TCPRTTP50us), "µs")
	t.Add("call_rtt_p99_us / tcp_rtt_p99_us", num(r.CallRTTP99us), num(r.TCPRTTP99us), "µs")
	t.Add("calls_per_s_16", fmt.Sprintf("%.0f", r.CallsPerS16), "", "call/s")
	t.Add("call_rtt_p99_under_bulk_us", num(r.CallRTTP99UnderBulkus), "", "µs")
	t.Add("  bulk_mb_per_s (flat out)", num(r.BulkMBPerS), "", "MB/s")
	t.Add("  gc_cycles_per_s_under_bulk", num(r.GCCyclesPerSUnderBulk), "", "1/s")
	t.Add("  gc_pause_p50_us / max_us", num(r.GCPauseP50usUnderBulk)+" / "+num(r.GCPauseMaxusUnderBulk), "", "µs")
	t.Add("  calls_in_gc_share_under_bulk", fmt.Sprintf("%.3f", r.CallsInGCUnderBulk), "", "")
	t.Add("  call_rtt_p99_under_bulk_gc_free_us", num(r.CallRTTP99UnderBulkGCFreeus), "", "µs")
	t.Add("call_rtt_p99_under_paced_bulk_us", num(r.CallRTTP99UnderPacedBulkus), "", "µs")
	t.Add("  paced_bulk_mb_per_s", num(r.PacedBulkMBPerS), "", "MB/s")
	t.Add("  gc_cycles_per_s_under_paced_bulk", num(r.GCCyclesPerSUnderPacedBulk), "", "1/s")
	return t
}

// TransportTargetTable lays out the targets of a transport result.
func TransportTargetTable(ts []Target) *chart.Table { return targetTable(ts, "%.1f") }

// targetTable lays out targets with their values and limits in format.
func targetTable(ts []Target, format string) *chart.Table {
	t := &chart.Table{Header: []string{"target", "measured", "limit", "met"}}
	for _, x := range ts {
		met := "yes"
		if !x.Met {
			met = "NO"
		}
		t.Add(x.Name, fmt.Sprintf(format, x.Value), fmt.Sprintf(format, x.Limit), met)
	}
	return t
}

// TransportReport is what `placer bench transport` prints: the transport
// figures and, unless skipped, the process-to-process figures measured after
// them in the same run, with every target of both.
type TransportReport struct {
	TransportResult
	*NodeFigures
	// Targets holds the transport targets followed by the process target.
	Targets []Target `json:"targets"`
	// NodeConfig echoes the sizes of the process measurements (absent when
	// they were skipped).
	NodeConfig *NodeConfig `json:"node_config,omitempty"`
}

// NewTransportReport combines a transport result with an optional node
// result (nil when the process figures were skipped).
func NewTransportReport(tr TransportResult, nr *NodeResult) TransportReport {
	r := TransportReport{TransportResult: tr, Targets: append([]Target(nil), tr.Targets...)}
	if nr != nil {
		r.NodeFigures, r.NodeConfig = &nr.NodeFigures, &nr.Config
		r.Targets = append(r.Targets, nr.Targets...)
	}
	return r
}

// NodeTable lays out the process-to-process figures beside the
// transport-level call measured in the same run.
func NodeTable(f NodeFigures) *chart.Table {
	t := &chart.Table{Header: []string{"figure", "process", "transport", "unit"}}
	num := func(x float64) string { return fmt.Sprintf("%.1f", x) }
	rate := func(x float64) string { return fmt.Sprintf("%.0f", x) }
	t.Add("proc_local_send_per_s", rate(f.ProcLocalSendPerS), "", "msg/s")
	t.Add("proc_remote_msgs_per_s", rate(f.ProcRemoteMsgsPerS), "", "msg/s")
	t.Add("proc_call_rtt_p50_us / transport_call_rtt_p50_us", num(f.ProcCallRTTP50us), num(f.TransportCallRTTP50us), "µs")
	t.Add("proc_call_rtt_p99_us / transport_call_rtt_p99_us", num(f.ProcCallRTTP99us), num(f.TransportCallRTTP99us), "µs")
	t.Add("proc_spawn_per_s", rate(f.ProcSpawnPerS), "", "spawn/s")
	t.Add("proc_remote_spawn_per_s", rate(f.ProcRemoteSpawnPerS), "", "spawn/s")
	return t
}
