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

	"github.com/placerhq/placer/internal/chart"
)

var tinyBenchChurn = []string{"bench", "churn", "--nodes", "12", "--keys", "5000", "--vnodes", "32", "--events", "20", "--flaps", "3"}

// --json prints one JSON object per scheme and scenario with the issue's
// fields, and the run's cost on stderr.
func TestBenchChurnJSON(t *testing.T) {
	defer goleak.VerifyNone(t)
	var stdout, stderr bytes.Buffer
	if code := run(append(tinyBenchChurn, "--json", "--state-bytes", "uniform:100-300"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "run time ") || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("stderr: %q", stderr.String())
	}
	required := []string{"scheme", "scenario", "nodes", "keys", "events", "moved_total", "ideal_total", "moved_ratio",
		"moved_between_old", "peak_to_avg_worst", "lookup_ns", "rebuild_us_p50", "moved_bytes_total", "ranks"}
	lines := 0
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not JSON: %q: %v", sc.Text(), err)
		}
		if _, ok := m["unsupported"]; ok {
			continue
		}
		for _, f := range required {
			if _, ok := m[f]; !ok {
				t.Fatalf("line lacks %q: %s", f, sc.Text())
			}
		}
		if m["scheme"] == "ring" && (m["moved_between_old"].(float64) != 0 || m["moved_ratio"].(float64) > 1.2) {
			t.Fatalf("the ring moved keys it must not: %s", sc.Text())
		}
	}
	if want := 8 * 8; lines != want { // 8 built-in scenarios × 8 schemes
		t.Fatalf("%d lines, want %d", lines, want)
	}
}

// The default output: results, rankings, targets, the run's cost; --out
// writes the report with an index.html that names every chart.
func TestBenchChurnTableAndOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report")
	var stdout, stderr bytes.Buffer
	args := append(tinyBenchChurn, "--scenario", "zone-loss,reweight,../../testdata/churn/example.txt", "--out", dir)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"moved", "ranking", "1. ", "ring moved_ratio ≤ 1.05 in zone-loss at 12 nodes", "n/a: consistent in reweight", "run time", "example.txt"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if len(svgs) != 9 {
		t.Fatalf("%d SVG files, want 3 per scenario", len(svgs))
	}
	for _, f := range svgs {
		b, _ := os.ReadFile(f)
		if err := chart.CheckSVG(b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(string(index), filepath.Base(f)) {
			t.Fatalf("index.html does not show %s", filepath.Base(f))
		}
	}
	for _, f := range []string{"results.jsonl", "timelines.json", "targets.json", "table.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestBenchChurnUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("join a\n\nleave nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "1"}, "node count"},
		{[]string{"--schemes", "ring,chord"}, "unknown scheme"},
		{[]string{"--scenario", "no-such"}, "neither a built-in scenario"},
		{[]string{"--scenario", bad}, "bad.txt:3: unknown node nobody"},
		{[]string{"--state-bytes", "exp:"}, "--state-bytes"},
		{[]string{"--views", "wan"}, "views"},
		{[]string{"--load", "1"}, "load factor"},
		{[]string{"--maglev-size", "1000"}, "not a prime"},
		{[]string{"--interval", "0s"}, "interval"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"bench", "churn", "--keys", "1000"}, c.args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, want 2 and %q in stderr %q", c.args, code, c.want, stderr.String())
		}
	}
}
