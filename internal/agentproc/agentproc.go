// Package agentproc runs clusters of real `placer agent` processes on
// 127.0.0.1 (local gossip profile, a private cookie file and names
// directory) for tests and benchmarks that need what only a process has:
// SIGKILL, SIGSTOP, a restart under the same name. Every process it
// starts is killed by Close.
package agentproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/placement/agent/names"
)

// ErrExited is returned for an agent that exited when it should run.
var ErrExited = errors.New("agentproc: agent exited")

// Config configures a cluster.
type Config struct {
	// Bin is the placer binary.
	Bin string
	// Dir holds the cookie file and the names directory; a new temporary
	// directory (removed by Close) if empty.
	Dir string
	// Prefix names the agents Prefix1@127.0.0.1, Prefix2@127.0.0.1, ...
	// Default "ap".
	Prefix string
	// Flags are added to every agent's command line (e.g. --replicas 2).
	Flags []string
	// StartTimeout bounds the wait for an agent's names record, and
	// WaitMembers' default. Default 30 s.
	StartTimeout time.Duration
}

// Cluster is a set of agent processes sharing a cookie and names
// directory; the first started is every later one's seed.
type Cluster struct {
	cfg    Config
	dir    string
	ownDir bool
	cookie string

	mu    sync.Mutex
	procs map[string]*Proc
	order []string
	seed  string // gossip address to join
}

// Proc is one agent process.
type Proc struct {
	Name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error // valid after done
}

// Start starts n agents and waits until the first sees n alive ring
// members. On error the cluster is closed.
func Start(ctx context.Context, cfg Config, n int) (*Cluster, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "ap"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	c := &Cluster{cfg: cfg, dir: cfg.Dir, procs: map[string]*Proc{}}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "placer-agents-")
		if err != nil {
			return nil, err
		}
		c.dir, c.ownDir = d, true
	}
	c.cookie = filepath.Join(c.dir, "cookie")
	for i := 1; i <= n; i++ {
		if err := c.Start(ctx, c.Name(i)); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitMembers(ctx, n); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Name returns the name of the i-th agent (from 1).
func (c *Cluster) Name(i int) string { return fmt.Sprintf("%s%d@127.0.0.1", c.cfg.Prefix, i) }

// Names returns the agents started, in order (running or not).
func (c *Cluster) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// NamesDir and CookieFile are the cluster's names directory and cookie.
func (c *Cluster) NamesDir() string   { return filepath.Join(c.dir, "names") }
func (c *Cluster) CookieFile() string { return c.cookie }

// Start starts (or restarts) the agent name, joining the seed, and waits
// for its names record.
func (c *Cluster) Start(ctx context.Context, name string) error {
	c.mu.Lock()
	if p := c.procs[name]; p != nil && p.Running() {
		c.mu.Unlock()
		return fmt.Errorf("agentproc: %s is running", name)
	}
	args := []string{"agent", "--name", name, "--profile", "local", "--names-dir", c.NamesDir(),
		"--cookie-file", c.cookie, "--data-dir", filepath.Join(c.dir, "data", name), "--http", "off", "--log-format", "json", "--log-level", "warn", "--drain-timeout", "20s"}
	if c.seed != "" {
		args = append(args, "--join", c.seed)
	}
	args = append(args, c.cfg.Flags...)
	c.mu.Unlock()
	p := &Proc{Name: name, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(c.cfg.Bin, args...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("agentproc: start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	c.mu.Lock()
	if _, ok := c.procs[name]; !ok {
		c.order = append(c.order, name)
	}
	c.procs[name] = p
	c.mu.Unlock()
	var rec names.Record
	err := poll.Until(ctx, c.cfg.StartTimeout, func() error {
		if !p.Running() {
			return fmt.Errorf("%w: %s: %v: %s", ErrExited, name, p.err, tail(p.stderr.String(), 2000))
		}
		var ok bool
		if rec, ok = names.Lookup(c.NamesDir(), name); !ok || rec.PID != p.cmd.Process.Pid {
			return fmt.Errorf("no names record for %s yet", name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.seed == "" {
		c.seed = rec.Gossip
	}
	c.mu.Unlock()
	return nil
}

// Proc returns the agent's process (nil if never started).
func (c *Cluster) Proc(name string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[name]
}

// Running returns the agents whose process runs (stopped ones included).
func (c *Cluster) Running() []string {
	var out []string
	for _, n := range c.Names() {
		if c.Proc(n).Running() {
			out = append(out, n)
		}
	}
	return out
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("agentproc: %s: %v: %w", p.Name, sig, err)
	}
	return nil
}

// Wait waits for the process to exit and returns its exit code.
func (p *Proc) Wait(ctx context.Context, timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-t.C:
		return -1, fmt.Errorf("agentproc: %s did not exit within %v", p.Name, timeout)
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Stderr returns what the process wrote to stderr (its log).
func (p *Proc) Stderr() string { return p.stderr.String() }

// Kill sends SIGKILL to the agent and waits for it to exit.
func (c *Cluster) Kill(ctx context.Context, name string) error {
	_, err := c.signalExit(ctx, name, syscall.SIGKILL)
	return err
}

// signalExit sends sig to the agent name and waits for it to exit.
func (c *Cluster) signalExit(ctx context.Context, name string, sig syscall.Signal) (*Proc, error) {
	p := c.Proc(name)
	if p == nil {
		return nil, fmt.Errorf("agentproc: no agent %s", name)
	}
	if err := p.Signal(sig); err != nil {
		return nil, err
	}
	_, err := p.Wait(ctx, 10*time.Second)
	return p, err
}

// Dump sends SIGQUIT to a running agent (Go prints every goroutine's
// stack and exits) and returns its stderr: where a stuck agent waits.
func (c *Cluster) Dump(ctx context.Context, name string) (string, error) {
	p, err := c.signalExit(ctx, name, syscall.SIGQUIT)
	if p == nil {
		return "", err
	}
	return p.Stderr(), err
}

// DumpAll dumps every running agent (Dump) into dir, a file per agent,
// and returns the files' paths.
func (c *Cluster) DumpAll(ctx context.Context, dir string) ([]string, error) {
	var files []string
	for _, name := range c.Running() {
		out, err := c.Dump(ctx, name)
		if err != nil {
			return files, err
		}
		f := filepath.Join(dir, fmt.Sprintf("placer-dump-%d-%s.txt", os.Getpid(), name))
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}

// Term sends SIGTERM (a graceful leave) and waits up to timeout for the
// exit; a non-zero exit code is an error.
func (c *Cluster) Term(ctx context.Context, name string, timeout time.Duration) error {
	p := c.Proc(name)
	if p == nil {
		return fmt.Errorf("agentproc: no agent %s", name)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	code, err := p.Wait(ctx, timeout)
	if err == nil && code != 0 {
		err = fmt.Errorf("%w: %s: SIGTERM exit %d: %s", ErrExited, name, code, tail(p.Stderr(), 2000))
	}
	return err
}

// Reseed makes name's gossip address the seed of later starts (when the
// first agent is about to go away).
func (c *Cluster) Reseed(name string) error {
	rec, ok := names.Lookup(c.NamesDir(), name)
	if !ok {
		return fmt.Errorf("agentproc: no names record for %s", name)
	}
	c.mu.Lock()
	c.seed = rec.Gossip
	c.mu.Unlock()
	return nil
}

// Client returns a hidden client of the agents named (any agent of the
// names directory if none), failing over to any; the caller closes it.
func (c *Cluster) Client(timeout time.Duration, nodes ...string) (*placement.Client, error) {
	cc := agent.DefaultClientConfig()
	cc.CookieFile, cc.NamesDir, cc.Nodes, cc.Discover, cc.Timeout = c.cookie, c.NamesDir(), nodes, true, timeout
	return agent.NewClient(cc)
}

// Hosted returns the processes and copies on agent name.
func (c *Cluster) Hosted(ctx context.Context, name string) ([]placement.Hosted, error) {
	cc := agent.DefaultClientConfig()
	cc.CookieFile, cc.NamesDir, cc.Nodes, cc.Timeout = c.cookie, c.NamesDir(), []string{name}, 5*time.Second
	cl, err := agent.NewClient(cc)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Hosted(ctx)
}

// Members returns the membership as agent via sees it.
func (c *Cluster) Members(ctx context.Context, via string) (placement.Members, error) {
	cc := agent.DefaultClientConfig()
	cc.CookieFile, cc.NamesDir, cc.Nodes, cc.Timeout = c.cookie, c.NamesDir(), []string{via}, 2*time.Second
	cl, err := agent.NewClient(cc)
	if err != nil {
		return placement.Members{}, err
	}
	defer cl.Close()
	return cl.Members(ctx)
}

// Status returns name's status as agent via sees it ("" if absent).
func (c *Cluster) Status(ctx context.Context, via, name string) (string, error) {
	ms, err := c.Members(ctx, via)
	if err != nil {
		return "", err
	}
	for _, m := range ms.Members {
		if m.Name == name {
			return m.Status, nil
		}
	}
	return "", nil
}

// WaitMembers waits until every running agent sees n alive ring
// members.
func (c *Cluster) WaitMembers(ctx context.Context, n int) error {
	return poll.Until(ctx, c.cfg.StartTimeout, func() error {
		for _, via := range c.Running() {
			ms, err := c.Members(ctx, via)
			if err != nil {
				return err
			}
			alive := 0
			for _, m := range ms.Members {
				if m.Ring && m.Status == "alive" {
					alive++
				}
			}
			if alive != n {
				return fmt.Errorf("%s sees %d alive ring members, want %d", via, alive, n)
			}
		}
		return nil
	})
}

// Close kills every agent (continuing stopped ones first) and removes
// the directory it created.
func (c *Cluster) Close() {
	c.mu.Lock()
	procs := make([]*Proc, 0, len(c.procs))
	for _, p := range c.procs {
		procs = append(procs, p)
	}
	c.mu.Unlock()
	for _, p := range procs {
		if p.Running() {
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
			_ = p.cmd.Process.Kill()
		}
		<-p.done
	}
	if c.ownDir {
		_ = os.RemoveAll(c.dir)
	}
}

// Logs returns the tail of every agent's stderr, for a failure report.
func (c *Cluster) Logs(n int) string {
	var b bytes.Buffer
	for _, name := range c.Names() {
		fmt.Fprintf(&b, "--- %s\n%s\n", name, tail(c.Proc(name).Stderr(), n))
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// syncBuffer keeps the last stderrKeep bytes or more of what is written,
// safe for a writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const stderrKeep = 1 << 20 // a goroutine dump (Dump) of a busy agent is a few hundred KiB

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 2*stderrKeep {
		s.b.Next(s.b.Len() - stderrKeep)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CheckCopies returns nil if each of keys of kind has at least r copies
// (a process or a backup) on distinct running agents, else an error
// saying how many fall short.
func (c *Cluster) CheckCopies(ctx context.Context, kind string, keys []string, r int) error {
	copies := make(map[string]int, len(keys))
	for _, name := range c.Running() {
		hosted, err := c.Hosted(ctx, name)
		if err != nil {
			return err
		}
		for _, h := range hosted {
			if h.Kind == kind {
				copies[h.Key]++
			}
		}
	}
	short := 0
	for _, k := range keys {
		if copies[k] < r {
			short++
		}
	}
	if short > 0 {
		return fmt.Errorf("%d of %d keys have fewer than %d copies", short, len(keys), r)
	}
	return nil
}
