package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/faults/load"
)

// worker is a load generator process (`placer bench faults worker`) in a
// node's namespace, driven through its stdin (internal/faults/load's
// protocol).
type worker struct {
	n     *member
	p     *proc
	stdin io.WriteCloser
	lines chan string // its stdout, line by line; closed at its exit
	path  string      // its history
}

// startWorker starts node n's load generator.
func (e *env) startWorker(n *member) (*worker, error) {
	w := &worker{n: n, path: filepath.Join(e.dir, "load-"+n.short()+".jsonl"), lines: make(chan string, 16)}
	args := []string{e.opts.Placer, "bench", "faults", "worker", "--node", n.name, "--agent", n.transport(),
		"--cookie-file", e.cookie, "--keys", fmt.Sprint(e.opts.Keys), "--period", e.opts.Period.String(),
		"--timeout", e.opts.OpTimeout.String(), "--history", w.path}
	for _, o := range e.nodes {
		args = append(args, "--peer", o.name+"="+o.transport())
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%w: %v", ErrSetup, err), inR.Close(), inW.Close())
	}
	p, err := startProc("load "+n.short(), filepath.Join(e.dir, "load-"+n.short()+".log"), e.net.Exec(n.i, args...), inR, outW)
	inR.Close() // the child's ends
	outW.Close()
	if err != nil {
		return nil, errors.Join(err, inW.Close(), outR.Close())
	}
	w.p, w.stdin = p, inW
	go w.readLines(outR) // ends at the child's exit (EOF)
	return w, nil
}

// readLines forwards the worker's stdout lines until it exits.
func (w *worker) readLines(r *os.File) {
	defer r.Close()
	defer close(w.lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		w.lines <- strings.TrimSpace(sc.Text())
	}
}

// expect waits up to d for the line want.
func (w *worker) expect(want string, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				return fmt.Errorf("%w: load generator of %s exited (see its log)", ErrSetup, w.n.name)
			}
			if line == want {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("%w: load generator of %s: no %q within %v", ErrTimeout, w.n.name, want, d)
		}
	}
}

// command sends cmd and waits for its answer.
func (w *worker) command(cmd, answer string, d time.Duration) error {
	if _, err := fmt.Fprintln(w.stdin, cmd); err != nil {
		return fmt.Errorf("%w: load generator of %s: %v", ErrSetup, w.n.name, err)
	}
	return w.expect(answer, d)
}

// close closes its stdin (it then closes its client and exits) and waits;
// it is killed after 10 s.
func (w *worker) close() {
	w.stdin.Close()
	if _, ok := w.p.wait(10 * time.Second); !ok {
		w.p.kill()
	}
	for range w.lines { // drain, so that readLines ends
	}
}

// startWorkers starts one load generator per node and waits until each
// runs.
func (e *env) startWorkers() error {
	for _, n := range e.nodes {
		w, err := e.startWorker(n)
		if err != nil {
			return err
		}
		e.workers = append(e.workers, w)
	}
	for _, w := range e.workers {
		if err := w.expect(load.Ready, 30*time.Second); err != nil {
			return err
		}
	}
	return nil
}
