// Command stress runs the test suite many times under -race with busy-loop
// CPU hogs beside it, and reports every test that failed, with its count
// and its first failure's output. It exits 1 if any run failed. Run it
// through .ci/stress before resolving anything that touches concurrency:
//
//	.ci/stress -runs 20 -hogs 2            # the whole suite, 20 times
//	.ci/stress -runs 50 -pkgs ./node/ -run 'TestFreeze' -cpu 1,2
//
// The hogs are goroutines of this process locked to their own OS threads,
// so they end with it on every exit path; a SIGINT or SIGTERM also kills
// the running `go test` and its test binaries (their process group).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type options struct {
	runs    int
	hogs    int
	cpu     string
	pkgs    []string
	run     string
	timeout time.Duration
	race    bool
	verbose bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.runs, "runs", 20, "how many times to run the suite")
	fs.IntVar(&o.hogs, "hogs", 2, "busy-loop CPU hogs beside the tests")
	fs.StringVar(&o.cpu, "cpu", "", "passed to go test -cpu (e.g. 1,2)")
	pkgs := fs.String("pkgs", "./...", "packages to test (space-separated)")
	fs.StringVar(&o.run, "run", "", "passed to go test -run")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "go test -timeout of each run")
	fs.BoolVar(&o.race, "race", true, "run under the race detector")
	fs.BoolVar(&o.verbose, "v", false, "print each run's failures as they happen")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.runs < 1 || o.hogs < 0 {
		return o, fmt.Errorf("-runs must be >= 1 and -hogs >= 0")
	}
	o.pkgs = strings.Fields(*pkgs)
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, o, os.Stdout))
}

// run starts the hogs, runs the suite o.runs times and prints the report;
// it returns the exit status.
func run(ctx context.Context, o options, out io.Writer) int {
	stopHogs := startHogs(o.hogs)
	defer stopHogs()
	var rep report
	start := time.Now()
	for i := 1; i <= o.runs && ctx.Err() == nil; i++ {
		t0 := time.Now()
		fails, err := runSuite(ctx, o)
		rep.add(i, fails, err)
		fmt.Fprintf(out, "run %d/%d: %s (%v)\n", i, o.runs, runVerdict(fails, err), time.Since(t0).Round(time.Second))
		if o.verbose {
			for _, f := range fails {
				fmt.Fprintf(out, "--- %s\n%s\n", f.name, f.output)
			}
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(out, "stress: interrupted")
	}
	rep.print(out, o, time.Since(start))
	if rep.failed() || ctx.Err() != nil {
		return 1
	}
	return 0
}

func runVerdict(fails []failure, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case len(fails) > 0:
		return fmt.Sprintf("%d failures", len(fails))
	}
	return "ok"
}
