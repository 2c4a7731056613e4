package faults

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/placerhq/placer/internal/faults/netns"
)

// Fixed ports inside every namespace: each node has its own stack, so they
// never collide.
const (
	transportPort = 9100
	gossipPort    = 7946
	httpPort      = 8080
)

// member is one of the five cluster nodes: its namespace's address and the
// agent process that runs there now (nil when down).
type member struct {
	i     int    // 1..Nodes
	name  string // "n1@198.18.0.1"
	addr  string // 198.18.0.1
	agent *proc
	runs  int // agent starts, for log file names
}

func (n *member) transport() string { return fmt.Sprintf("%s:%d", n.addr, transportPort) }
func (n *member) gossip() string    { return fmt.Sprintf("%s:%d", n.addr, gossipPort) }
func (n *member) http() string      { return fmt.Sprintf("%s:%d", n.addr, httpPort) }
func (n *member) short() string     { return strings.SplitN(n.name, "@", 2)[0] }

// newNodes names the nodes of nt.
func newNodes(nt *netns.Net) []*member {
	nodes := make([]*member, Nodes)
	for i := range nodes {
		addr := nt.Addr(i + 1)
		nodes[i] = &member{i: i + 1, name: fmt.Sprintf("n%d@%s", i+1, addr), addr: addr}
	}
	return nodes
}

// agentArgs is the command line of node n's agent.
func (e *env) agentArgs(n *member) []string {
	var join []string
	for _, o := range e.nodes {
		if o != n {
			join = append(join, o.gossip())
		}
	}
	args := []string{e.opts.Placer, "agent", "--name", n.name, "--listen", n.transport(), "--gossip", n.gossip(),
		"--http", n.http(), "--join", strings.Join(join, ","), "--profile", e.opts.Profile,
		"--cookie-file", e.cookie, "--names-dir", e.namesDir, "--log-format", "json", "--drain-timeout", "20s"}
	if e.sc.Quorum {
		args = append(args, "--quorum")
	}
	if e.caps.replicas {
		args = append(args, "--replicas", fmt.Sprint(e.opts.Replicas))
	}
	return e.net.Exec(n.i, args...)
}

// startAgent starts node n's agent (again: same name, same addresses).
func (e *env) startAgent(n *member) error {
	n.runs++
	log := filepath.Join(e.dir, fmt.Sprintf("agent-%s-%d.log", n.short(), n.runs))
	p, err := startProc(n.name, log, e.agentArgs(n), nil, nil)
	if err != nil {
		return err
	}
	n.agent = p
	return nil
}

// signalAgent sends sig to node n's agent and marks it.
func (e *env) signalAgent(n *member, sig syscall.Signal, label string) error {
	if n.agent == nil {
		return fmt.Errorf("%w: %s is not running", ErrFault, n.name)
	}
	e.mark(markFault(label, n.name))
	return n.agent.signal(sig)
}

// kill SIGKILLs node n's agent and waits for it to go.
func (e *env) kill(n *member) error {
	if err := e.signalAgent(n, syscall.SIGKILL, "SIGKILL "+n.short()); err != nil {
		return err
	}
	if _, ok := n.agent.wait(5 * time.Second); !ok {
		return fmt.Errorf("%w: %s survived SIGKILL", ErrFault, n.name)
	}
	n.agent = nil
	return nil
}

// term SIGTERMs node n's agent (graceful leave) and returns its exit code.
func (e *env) term(n *member) (int, error) {
	if err := e.signalAgent(n, syscall.SIGTERM, "SIGTERM "+n.short()); err != nil {
		return 0, err
	}
	code, ok := n.agent.wait(40 * time.Second)
	if !ok {
		n.agent.kill()
		return 0, fmt.Errorf("%w: %s did not exit within 40 s of SIGTERM", ErrTimeout, n.name)
	}
	n.agent = nil
	return code, nil
}

// stopAll kills every agent left.
func (e *env) stopAll() {
	for _, n := range e.nodes {
		if n.agent != nil {
			n.agent.kill()
			n.agent = nil
		}
	}
}

// live returns the names of the nodes whose agents run and are not
// stopped.
func (e *env) live() []string {
	var out []string
	for _, n := range e.nodes {
		if n.agent != nil && !e.stopped[n.name] {
			out = append(out, n.name)
		}
	}
	return out
}

// names returns the names of nodes by index.
func (e *env) names(idx ...int) []string {
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = e.nodes[i-1].name
	}
	return out
}
