package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// failure is one failed test (or a package that failed outside any test:
// a build error, a panic in TestMain, a timeout) with its output.
type failure struct {
	name   string // "pkg TestName" or "pkg (package)"
	output string
}

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// runSuite runs go test once and returns its failures. err is set only
// when go test could not run at all.
func runSuite(ctx context.Context, o options) ([]failure, error) {
	cmd := exec.CommandContext(ctx, "go", goTestArgs(o)...)
	setProcessGroup(cmd)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fails := collect(stdout)
	werr := cmd.Wait()
	if werr != nil && len(fails) == 0 && ctx.Err() == nil {
		return nil, fmt.Errorf("go test: %w", werr)
	}
	return fails, nil
}

func goTestArgs(o options) []string {
	args := []string{"test", "-json", "-count=1", "-timeout", o.timeout.String()}
	if o.race {
		args = append(args, "-race")
	}
	if o.cpu != "" {
		args = append(args, "-cpu", o.cpu)
	}
	if o.run != "" {
		args = append(args, "-run", o.run)
	}
	return append(args, o.pkgs...)
}

// collect reads go test -json events and returns the failed tests with the
// output each printed (a subtest's output is kept under its own name).
func collect(r io.Reader) []failure {
	outputs := map[string]*strings.Builder{}
	var fails []failure
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		name := ev.Package + " " + ev.Test
		if ev.Test == "" {
			name = ev.Package + " (package)"
		}
		switch ev.Action {
		case "output":
			b := outputs[name]
			if b == nil {
				b = &strings.Builder{}
				outputs[name] = b
			}
			b.WriteString(ev.Output)
		case "fail":
			if ev.Test != "" || !anyFailed(fails, ev.Package) {
				fails = append(fails, failure{name: name, output: text(outputs[name])})
			}
		}
	}
	return fails
}

// anyFailed reports whether a test of pkg failed already (then the
// package's own fail line adds nothing).
func anyFailed(fails []failure, pkg string) bool {
	for _, f := range fails {
		if strings.HasPrefix(f.name, pkg+" ") {
			return true
		}
	}
	return false
}

func text(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}

// report accumulates failures over runs.
type report struct {
	runs     int
	errRuns  int
	failRuns int
	count    map[string]int
	first    map[string]failure
	firstRun map[string]int
}

func (r *report) add(run int, fails []failure, err error) {
	if r.count == nil {
		r.count, r.first, r.firstRun = map[string]int{}, map[string]failure{}, map[string]int{}
	}
	r.runs++
	if err != nil {
		r.errRuns++
		r.record(run, failure{name: "(go test did not run)", output: err.Error()})
		return
	}
	if len(fails) > 0 {
		r.failRuns++
	}
	for _, f := range fails {
		r.record(run, f)
	}
}

func (r *report) record(run int, f failure) {
	if r.count[f.name] == 0 {
		r.first[f.name], r.firstRun[f.name] = f, run
	}
	r.count[f.name]++
}

func (r *report) failed() bool { return len(r.count) > 0 }

// print writes the summary: one line per failing test with its count,
// then each one's first failure output (the last 60 lines of it).
func (r *report) print(w io.Writer, o options, took time.Duration) {
	fmt.Fprintf(w, "\nstress: %d runs of go test %s with %d hogs in %v: %d failed runs, %d runs that did not start\n",
		r.runs, strings.Join(goTestArgs(o)[1:], " "), o.hogs, took.Round(time.Second), r.failRuns, r.errRuns)
	names := make([]string, 0, len(r.count))
	for n := range r.count {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return r.count[names[i]] > r.count[names[j]] || (r.count[names[i]] == r.count[names[j]] && names[i] < names[j])
	})
	for _, n := range names {
		fmt.Fprintf(w, "FAIL %4d of %d  %s\n", r.count[n], r.runs, n)
	}
	for _, n := range names {
		fmt.Fprintf(w, "\n=== first failure of %s (run %d)\n%s", n, r.firstRun[n], tail(r.first[n].output, 60))
	}
	if !r.failed() {
		fmt.Fprintln(w, "stress: 0 failures")
	}
}

func tail(s string, lines int) string {
	parts := strings.SplitAfter(s, "\n")
	if len(parts) > lines {
		parts = append([]string{"...\n"}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "")
}

// startHogs starts n goroutines that spin on their own OS threads; the
// returned function stops them and waits until they have.
func startHogs(n int) func() {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			for x := uint64(0); !stop.Load(); x++ {
				if x%(1<<20) == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	if n > 0 && runtime.GOMAXPROCS(0) < n+1 {
		runtime.GOMAXPROCS(n + 1)
	}
	return func() {
		stop.Store(true)
		wg.Wait()
	}
}
