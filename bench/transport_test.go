package bench

import (
	"bytes"
	"context"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunTransportSmall runs the transport benchmark at tiny sizes and
// checks that every figure was measured (not that it is fast).
func TestRunTransportSmall(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := TransportConfig{Messages: 2000, Calls: 200, Callers: 4, CallersDuration: 50 * time.Millisecond, BulkSize: 64 << 10, PacedBulkMBps: 50}
	var tr bytes.Buffer
	if !trace.IsEnabled() { // go test -trace holds the tracer
		cfg.Trace = &tr
	}
	r, err := RunTransport(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Trace != nil && !bytes.HasPrefix(tr.Bytes(), []byte("go 1.")) {
		t.Errorf("Trace got %d bytes, not an execution trace", tr.Len())
	}
	checkGCFigures(t, r)
	figures := map[string]float64{
		"msgs_per_s": r.MsgsPerS, "tcp_frames_per_s": r.TCPFramesPerS,
		"call_rtt_p50_us": r.CallRTTP50us, "call_rtt_p99_us": r.CallRTTP99us,
		"tcp_rtt_p50_us": r.TCPRTTP50us, "tcp_rtt_p99_us": r.TCPRTTP99us,
		"calls_per_s_16": r.CallsPerS16, "call_rtt_p99_under_bulk_us": r.CallRTTP99UnderBulkus,
		"bulk_mb_per_s": r.BulkMBPerS, "call_rtt_p99_under_paced_bulk_us": r.CallRTTP99UnderPacedBulkus,
		"paced_bulk_mb_per_s": r.PacedBulkMBPerS,
	}
	for name, v := range figures {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive measurement", name, v)
		}
	}
	if r.CallRTTP50us > r.CallRTTP99us || r.TCPRTTP50us > r.TCPRTTP99us {
		t.Errorf("p50 above p99: calls %v/%v, tcp %v/%v", r.CallRTTP50us, r.CallRTTP99us, r.TCPRTTP50us, r.TCPRTTP99us)
	}
	if len(r.Targets) != 4 || r.Targets[0].Limit != 1.5*r.TCPRTTP50us || r.Targets[1].Limit != 0.1*r.TCPFramesPerS {
		t.Errorf("targets %+v", r.Targets)
	}
	if r.Config.Payload != 64 || r.Config.Calls != 200 {
		t.Errorf("config not echoed with defaults filled in: %+v", r.Config)
	}
}

// checkGCFigures checks the GC figures of a run for consistency (a tiny run
// may see no collection at all).
func checkGCFigures(t *testing.T, r TransportResult) {
	t.Helper()
	if r.GCCyclesPerSUnderBulk < 0 || r.GCCyclesPerSUnderPacedBulk < 0 || r.GCPauseP50usUnderBulk < 0 ||
		r.GCPauseMaxusUnderBulk < r.GCPauseP50usUnderBulk {
		t.Errorf("GC figures: cycles/s %v (paced %v), pause p50 %v max %v", r.GCCyclesPerSUnderBulk,
			r.GCCyclesPerSUnderPacedBulk, r.GCPauseP50usUnderBulk, r.GCPauseMaxusUnderBulk)
	}
	if r.CallsInGCUnderBulk < 0 || r.CallsInGCUnderBulk > 1 {
		t.Errorf("calls_in_gc_share_under_bulk = %v, want a fraction", r.CallsInGCUnderBulk)
	}
	if r.CallsInGCUnderBulk < 1 && !(r.CallRTTP99UnderBulkGCFreeus > 0) {
		t.Errorf("call_rtt_p99_under_bulk_gc_free_us = %v with %v of the calls in GC", r.CallRTTP99UnderBulkGCFreeus, r.CallsInGCUnderBulk)
	}
}

// BulkWindow and FragmentSize reach the endpoints: an invalid one fails Listen.
func TestRunTransportWindowReachesEndpoints(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, err := RunTransport(context.Background(), TransportConfig{Messages: 10, Calls: 10, BulkWindow: 100})
	if err == nil || !strings.Contains(err.Error(), "BulkWindow") {
		t.Errorf("BulkWindow 100: err = %v, want the transport's config error", err)
	}
}
