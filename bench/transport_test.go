package bench

import (
	"context"
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
	r, err := RunTransport(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
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
