package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestDemoJSONSteps runs two steps through the command line: one JSON
// object with their figures and nothing else on stdout.
func TestDemoJSONSteps(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--json", "--step", "rpc,3"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&got); err != nil || dec.More() {
		t.Fatalf("not one JSON object: %v: %s", err, out.String())
	}
	if got["rpc_abs"] != 1.0 || got["spawn_hello"] != "Hello from node2@127.0.0.1!" {
		t.Errorf("figures: %v", got)
	}
	if steps := fmt.Sprint(got["steps"]); steps != "[spawn rpc]" {
		t.Errorf("steps = %s", steps)
	}
	if _, ok := got["join_moved"]; ok {
		t.Error("a step that did not run reported a figure")
	}
}

// TestDemoFailingStep: a step that cannot do its job fails the demo with
// exit 1 and a message naming it, and the cluster is still cleaned up.
func TestDemoFailingStep(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	var out, errb bytes.Buffer
	code := run([]string{"demo", "--quiet", "--step", "ports", "--port-min", port, "--port-max", port}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "placer demo: step 16 (ports) failed: start node4@127.0.0.1") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "2"}, {"--nodes", "10"}, {"--keys", "5"}, {"--names", "10"}, {"--step", "nope"},
		{"--step", "17"}, {"--step", ","}, {"--quiet", "--json"}, {"--port-min", "2000", "--port-max", "1000"},
		{"--port-max", "1000"}, {"--log", "loud"}, {"--timeout", "10ms"}, {"extra"}, {"--nope"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"demo"}, args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage); stderr %q", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "13 partition") {
		t.Errorf("-h: exit %d, %q", code, errb.String())
	}
}
