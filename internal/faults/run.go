package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/faults/load"
	"github.com/placerhq/placer/internal/faults/netns"
	"github.com/placerhq/placer/placement/agent/cookie"
)

// caps is what the placer binary under test supports.
type caps struct {
	replicas bool // `placer agent --replicas`
	names    bool // global names and locks (`placer global`, `placer lock`)
}

// probeCaps asks the binary for its flags and commands.
func probeCaps(ctx context.Context, placer string) (caps, error) {
	agentHelp, _ := exec.CommandContext(ctx, placer, "agent", "-h").CombinedOutput()
	help, err := exec.CommandContext(ctx, placer, "help").CombinedOutput()
	if err != nil {
		return caps{}, fmt.Errorf("%w: %s help: %v", ErrSetup, placer, err)
	}
	return caps{
		replicas: strings.Contains(string(agentHelp), "-replicas"),
		names:    strings.Contains(string(help), "\n  global") || strings.Contains(string(help), "\n  lock"),
	}, nil
}

// Run runs the scenarios of opts on a fresh network of five namespaces and
// returns the report (also written to opts.Dir as report.md and
// report.json). The network and every process are removed before it
// returns, also on error, cancellation or a panic of this goroutine (a
// panic elsewhere kills the process: the agents die with it through
// Pdeathsig, and the next Run, or `placer bench faults --cleanup`, deletes
// the namespaces it left). It fails with ErrBounds when a bound failed.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	c, err := probeCaps(ctx, opts.Placer)
	if err != nil {
		return nil, err
	}
	if stale, err := netns.CleanupStale(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	} else if len(stale) > 0 {
		opts.progress("removed %d stale namespaces of an earlier run: %s", len(stale), strings.Join(stale, " "))
	}
	nt, err := netns.Create(ctx, Nodes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer nt.Close()
	return runAll(ctx, &opts, c, nt)
}

// runAll runs every selected scenario and writes the report.
func runAll(ctx context.Context, opts *Options, c caps, nt *netns.Net) (*Report, error) {
	cookiePath := filepath.Join(opts.Dir, "cluster.cookie")
	if _, _, err := cookie.Ensure(cookiePath); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	rep := newReport(opts, c)
	table := opts.scenarios
	if table == nil {
		table = Scenarios()
	}
	for _, sc := range selected(table, opts.Scenarios) {
		if ctx.Err() != nil {
			break
		}
		opts.progress("scenario %s: %s", sc.Name, sc.Title)
		res := runScenario(ctx, opts, c, nt, cookiePath, sc)
		markKnown(&res, opts.Known)
		opts.progress("scenario %s: %s in %v", sc.Name, res.verdict(), res.Duration)
		rep.Scenarios = append(rep.Scenarios, res)
	}
	rep.finish()
	if err := rep.write(opts.Dir); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if !rep.Gate {
		return rep, fmt.Errorf("%w: %d of %d (%d of them known)", ErrBounds, rep.Failed, rep.Bounds, rep.Known)
	}
	return rep, nil
}

// runScenario runs one scenario on a fresh cluster and judges it.
func runScenario(ctx context.Context, opts *Options, c caps, nt *netns.Net, cookiePath string, sc Scenario) ScenarioResult {
	start := time.Now()
	res := ScenarioResult{Name: sc.Name, Title: sc.Title}
	e, err := newEnv(ctx, opts, c, nt, cookiePath, sc)
	if err == nil {
		err = errors.Join(e.execute(), e.teardown())
		res.Bounds, res.Figures = e.judge()
		res.Dir = e.dir
	}
	if err != nil {
		res.Err = err.Error()
	}
	res.Duration = time.Since(start).Round(100 * time.Millisecond)
	return res
}

// newEnv prepares a scenario's directory and records.
func newEnv(ctx context.Context, opts *Options, c caps, nt *netns.Net, cookiePath string, sc Scenario) (*env, error) {
	dir := filepath.Join(opts.Dir, sc.Name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "names"), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	hw, err := history.Create(filepath.Join(dir, "harness.jsonl"))
	if err != nil {
		return nil, err
	}
	e := &env{ctx: ctx, opts: opts, sc: sc, caps: c, net: nt, nodes: newNodes(nt), dir: dir, cookie: cookiePath,
		namesDir: filepath.Join(dir, "names"), stopped: map[string]bool{}, hw: hw}
	return e, nil
}

// execute runs the scenario: cluster, load, warm-up, the script, the
// verification. The teardown is separate so that it runs after a failure.
func (e *env) execute() (err error) {
	defer func() { // a panic in a script still tears down (runScenario's caller defers nt.Close)
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic: %v", ErrFault, r)
		}
	}()
	if err := e.setup(); err != nil {
		return err
	}
	e.phase("warm-up under load")
	if err := e.sleep(warmup); err != nil {
		return err
	}
	scriptErr := e.sc.script(e)
	return errors.Join(scriptErr, e.finish())
}

// warmup is how long the load runs before the fault.
const warmup = 3 * time.Second

// setup starts the agents, waits for one view, and starts the observer and
// the load.
func (e *env) setup() error {
	e.phase("start %d agents", Nodes)
	for _, n := range e.nodes {
		if err := e.startAgent(n); err != nil {
			return err
		}
	}
	e.obs = e.startObserver()
	if _, err := e.waitMerged(0, 30*time.Second); err != nil {
		return err
	}
	e.phase("start %d load generators", Nodes)
	return e.startWorkers()
}

// finish stops the load, lets the cluster settle, reads the final state
// through a live node and closes the load generators.
func (e *env) finish() error {
	e.phase("stop the load")
	errs := e.allWorkers(load.CmdStop, "stopped", 20*time.Second)
	e.f.end = history.Now()
	if v := e.verifier(); v != nil {
		e.phase("verify the final state through %s", v.n.short())
		errs = append(errs, v.command(load.CmdVerify, "verified", 60*time.Second))
	} else {
		errs = append(errs, fmt.Errorf("%w: no live node to verify through", ErrFault))
	}
	errs = append(errs, e.sleep(time.Second)) // late DOWNs
	for _, w := range e.workers {
		w.close()
	}
	e.workers = nil
	return errors.Join(errs...)
}

// allWorkers sends cmd to every load generator at once, then waits for
// every answer.
func (e *env) allWorkers(cmd, answer string, d time.Duration) []error {
	errs := make([]error, len(e.workers))
	var wg sync.WaitGroup
	for i, w := range e.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.command(cmd, answer, d)
		}()
	}
	wg.Wait()
	return errs
}

// verifier is the load generator of the first live node.
func (e *env) verifier() *worker {
	live := e.live()
	for _, w := range e.workers {
		if len(live) > 0 && w.n.name == live[0] {
			return w
		}
	}
	return nil
}

// teardown stops whatever still runs and puts the network back: links up,
// no cuts. Safe to call after any failure.
func (e *env) teardown() error {
	for _, w := range e.workers {
		w.p.kill()
	}
	if e.obs != nil {
		e.obs.stop()
		e.obs = nil
	}
	e.stopAll()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := []error{e.net.Heal(ctx)}
	for _, n := range e.nodes {
		errs = append(errs, e.net.LinkUp(ctx, n.i))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(append(errs, e.hw.Close())...)
}
