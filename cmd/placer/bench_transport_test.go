package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var tinyBenchTransport = []string{"bench", "transport", "--msgs", "2000", "--calls", "100", "--callers", "4",
	"--duration", "50ms", "--bulk-size", "65536", "--paced-bulk-mbps", "50",
	"--proc-msgs", "500", "--proc-calls", "50", "--proc-spawns", "20"}

// --json prints one JSON object with the field names issue 3 specifies,
// each a measured (positive) number.
func TestBenchTransportJSON(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out, errb bytes.Buffer
	if code := run(append(tinyBenchTransport, "--json"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("not one JSON object: %v", err)
	}
	if dec.More() {
		t.Fatal("more than one JSON value on stdout")
	}
	for _, k := range []string{"msgs_per_s", "tcp_frames_per_s", "call_rtt_p50_us", "call_rtt_p99_us",
		"tcp_rtt_p50_us", "tcp_rtt_p99_us", "calls_per_s_16", "call_rtt_p99_under_bulk_us",
		"proc_local_send_per_s", "proc_remote_msgs_per_s", "proc_call_rtt_p50_us", "proc_call_rtt_p99_us",
		"transport_call_rtt_p50_us", "proc_spawn_per_s", "proc_remote_spawn_per_s"} {
		v, ok := got[k].(float64)
		if !ok || !(v > 0) {
			t.Errorf("field %s = %v, want a positive number", k, got[k])
		}
	}
	if ts, ok := got["targets"].([]any); !ok || len(ts) != 5 {
		t.Errorf("targets = %v, want the 4 transport targets (one extra, paced) and the process one", got["targets"])
	}
}

func TestBenchTransportTable(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out, errb bytes.Buffer
	if code := run(tinyBenchTransport, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"call_rtt_p50_us", "raw TCP", "msgs_per_s >= 0.1 x tcp_frames_per_s", "met",
		"proc_call_rtt_p50_us", "proc_call_rtt_p50_us <= 1.3 x transport_call_rtt_p50_us"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// --trace writes an execution trace of the calls under bulk; --bulk-window
// and --fragment-size reach the endpoints.
func TestBenchTransportTrace(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	if trace.IsEnabled() {
		t.Skip("go test -trace holds the tracer")
	}
	path := filepath.Join(t.TempDir(), "bulk.trace")
	args := append(append([]string(nil), tinyBenchTransport...), "--proc=false", "--trace", path,
		"--bulk-window", "32768", "--fragment-size", "8192")
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
		t.Fatalf("trace file: %d bytes, err %v", len(b), err)
	}
	var errb2 bytes.Buffer
	bad := append(append([]string(nil), tinyBenchTransport...), "--proc=false", "--bulk-window", "100")
	if code := run(bad, &out, &errb2); code == 0 || !strings.Contains(errb2.String(), "BulkWindow") {
		t.Errorf("--bulk-window 100: exit %d, stderr %q; want the transport's config error", code, errb2.String())
	}
}

func TestBenchTransportUsage(t *testing.T) {
	for _, args := range [][]string{{"--msgs", "0"}, {"--proc-calls", "0"}, {"--bulk-size", "2000000"}, {"extra"}, {"--nope"},
		{"--bulk-window", "-1"}, {"--fragment-size", "-1"}} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"bench", "transport"}, args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}
