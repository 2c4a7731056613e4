package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var tinyBenchRing = []string{"bench", "ring", "--nodes", "3,6", "--keys", "3000", "--vnodes", "16", "--budget", "1ms", "--rounds", "1"}

// --json prints clean JSON lines on stdout, with the documented fields and
// sane values, and nothing else (no progress bar: stderr is not a terminal).
func TestBenchRingJSON(t *testing.T) {
	defer goleak.VerifyNone(t)
	var stdout, stderr bytes.Buffer
	if code := run(append(tinyBenchRing, "--json"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("unexpected stderr output: %q", stderr.String())
	}
	required := []string{"strategy", "nodes", "vnodes", "keys", "lookup_ns", "allocs_per_lookup", "add_remove_us", "build_ms",
		"bytes_per_vnode", "peak_to_avg", "cv", "join_moved_ratio", "join_moved_between_old_ratio", "leave_moved_ratio", "leave_moved_extra"}
	seen := map[string]int{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not JSON: %q: %v", sc.Text(), err)
		}
		for _, f := range required {
			if _, ok := m[f]; !ok {
				t.Fatalf("line lacks %q: %s", f, sc.Text())
			}
		}
		s := m["strategy"].(string)
		seen[s]++
		peak, join, old := m["peak_to_avg"].(float64), m["join_moved_ratio"].(float64), m["join_moved_between_old_ratio"].(float64)
		if peak < 1 || join <= 0 || old < 0 || old > join || m["lookup_ns"].(float64) <= 0 {
			t.Fatalf("insane values: %s", sc.Text())
		}
		if s == "ring" && (old != 0 || m["leave_moved_extra"].(float64) != 0) {
			t.Fatalf("ring moved keys it must not: %s", sc.Text())
		}
	}
	for _, s := range []string{"ring", "consistent", "modulo"} {
		if seen[s] != 2 {
			t.Errorf("%s: %d lines, want 2", s, seen[s])
		}
	}
	if seen["bounded"] != 4 { // two sizes × two default load factors
		t.Errorf("bounded: %d lines, want 4", seen["bounded"])
	}
}

// The default output is the table plus the target checks; --out writes the
// report files.
func TestBenchRingTableAndOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report")
	var stdout, stderr bytes.Buffer
	if code := run(append(tinyBenchRing, "--load", "1.25", "--out", dir), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"strategy", "lookup ns", "consistent", "modulo", "target", "ring leave moves only the leaver's keys"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"results.jsonl", "targets.json", "table.txt", "churn-join.svg", "balance-peak.svg", "lookup.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("--out: %v", err)
		}
	}
	if !strings.Contains(stderr.String(), "wrote 11 files") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestBenchRingUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "ring", "--nodes", "1"},
		{"bench", "ring", "--nodes", "x"},
		{"bench", "ring", "--load", "0.5"},
		{"bench", "ring", "--bogus"},
		{"bench", "ring", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}
