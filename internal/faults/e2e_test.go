package faults

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/faults/netns"
)

// The tests in this file run the harness for real: root, ip, iptables and
// the go tool to build the placer binary; they skip without them. Each
// checks that the run left no namespace and no process behind.

// buildPlacer compiles the placer command once per test binary.
func buildPlacer(t *testing.T) string {
	t.Helper()
	if err := netns.Check(); err != nil {
		t.Skip(err)
	}
	for _, tool := range []string{"iptables-restore", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool, "missing:", err)
		}
	}
	if testing.Short() {
		t.Skip("runs agents in namespaces")
	}
	bin := filepath.Join(t.TempDir(), "placer")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/placerhq/placer/cmd/placer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func testOptions(t *testing.T, bin string, scenarios ...string) Options {
	o := DefaultOptions()
	o.Placer, o.Dir, o.Scenarios, o.Keys = bin, t.TempDir(), scenarios, 8
	o.Progress = func(s string) { t.Log(s) }
	return o
}

// checkClean fails t if a namespace of this process or a child process is
// left.
func checkClean(t *testing.T) {
	t.Helper()
	have, err := netns.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mine := "plf" + strconv.Itoa(os.Getpid()) + "x"
	for ns := range have {
		if strings.HasPrefix(ns, mine) {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	if kids := children(); len(kids) > 0 {
		t.Errorf("child processes left behind: %v", kids)
	}
}

// children lists the live child processes of this one.
func children() []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) && f[0] != "Z" {
			out = append(out, p)
		}
	}
	return out
}

// TestRunStopShort runs one real scenario end to end.
func TestRunStopShort(t *testing.T) {
	bin := buildPlacer(t)
	o := testOptions(t, bin, "stop-short")
	rep, err := Run(context.Background(), o)
	if err != nil && !errors.Is(err, ErrBounds) {
		t.Fatal(err)
	}
	checkClean(t)
	if len(rep.Scenarios) != 1 || rep.Scenarios[0].Err != "" || len(rep.Scenarios[0].Bounds) < 5 {
		t.Fatalf("%+v", rep.Scenarios)
	}
	for _, f := range []string{"report.md", "report.json", "stop-short/harness.jsonl", "stop-short/load-n1.jsonl", "stop-short/agent-n2-1.log"} {
		if _, err := os.Stat(filepath.Join(o.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%s", rep.Scenarios[0].verdict())
}

// TestRunCancelled: cancelling a run (what SIGINT does) tears everything
// down.
func TestRunCancelled(t *testing.T) {
	bin := buildPlacer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second) // during the warm-up
	defer cancel()
	rep, err := Run(ctx, testOptions(t, bin, "kill"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the context's error, got %v", err)
	}
	checkClean(t)
	if rep == nil || len(rep.Scenarios) != 1 || rep.Scenarios[0].Err == "" {
		t.Fatalf("the cut-short scenario is reported with its error: %+v", rep)
	}
}

// TestRunPanic: a script that panics still tears everything down.
func TestRunPanic(t *testing.T) {
	bin := buildPlacer(t)
	o := testOptions(t, bin)
	o.scenarios = []Scenario{{Name: "boom", Title: "a script that panics",
		script: func(e *env) error {
			_ = e.cut([]int{1}, []int{2})
			panic("boom")
		},
		judge: func(*env, *hist) {}}}
	rep, err := Run(context.Background(), o)
	if !errors.Is(err, ErrBounds) {
		t.Fatalf("a scenario error fails the run: %v", err)
	}
	checkClean(t)
	if !strings.Contains(rep.Scenarios[0].Err, "panic: boom") {
		t.Fatalf("%+v", rep.Scenarios[0])
	}
}
