package bench

import "fmt"

// TransportTable lays out a transport result: each figure beside its
// raw-TCP baseline from the same run.
func TransportTable(r TransportResult) *Table {
	t := &Table{Header: []string{"figure", "transport", "raw TCP", "unit"}}
	num := func(x float64) string { return fmt.Sprintf("%.1f", x) }
	t.Add("msgs_per_s / tcp_frames_per_s", fmt.Sprintf("%.0f", r.MsgsPerS), fmt.Sprintf("%.0f", r.TCPFramesPerS), "msg/s")
	t.Add("call_rtt_p50_us / tcp_rtt_p50_us", num(r.CallRTTP50us), num(r.TCPRTTP50us), "µs")
	t.Add("call_rtt_p99_us / tcp_rtt_p99_us", num(r.CallRTTP99us), num(r.TCPRTTP99us), "µs")
	t.Add("calls_per_s_16", fmt.Sprintf("%.0f", r.CallsPerS16), "", "call/s")
	t.Add("call_rtt_p99_under_bulk_us", num(r.CallRTTP99UnderBulkus), "", "µs")
	t.Add("  bulk_mb_per_s (flat out)", num(r.BulkMBPerS), "", "MB/s")
	t.Add("call_rtt_p99_under_paced_bulk_us", num(r.CallRTTP99UnderPacedBulkus), "", "µs")
	t.Add("  paced_bulk_mb_per_s", num(r.PacedBulkMBPerS), "", "MB/s")
	return t
}

// TransportTargetTable lays out the targets of a transport result.
func TransportTargetTable(ts []Target) *Table {
	t := &Table{Header: []string{"target", "measured", "limit", "met"}}
	for _, x := range ts {
		met := "yes"
		if !x.Met {
			met = "NO"
		}
		t.Add(x.Name, fmt.Sprintf("%.1f", x.Value), fmt.Sprintf("%.1f", x.Limit), met)
	}
	return t
}
