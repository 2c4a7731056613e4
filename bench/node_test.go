package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunNodeSmall runs the process benchmark with tiny sizes and checks
// the JSON field names (not the speed).
func TestRunNodeSmall(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := RunNode(ctx, NodeConfig{Messages: 500, Calls: 50, Spawns: 20})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"proc_local_send_per_s", "proc_remote_msgs_per_s", "proc_call_rtt_p50_us", "proc_call_rtt_p99_us",
		"transport_call_rtt_p50_us", "transport_call_rtt_p99_us", "proc_spawn_per_s", "proc_remote_spawn_per_s",
	} {
		if v, ok := fields[f].(float64); !ok || v <= 0 {
			t.Errorf("field %s = %v", f, fields[f])
		}
	}
	if len(res.Targets) != 1 || res.Targets[0].Limit <= 0 {
		t.Errorf("targets %+v", res.Targets)
	}
}
