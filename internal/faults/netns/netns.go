package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Subnet is the /24 the nodes' addresses come from: node i (from 1) is
// Subnet + "." + i. It lies in 198.18.0.0/15, reserved for benchmarks.
const Subnet = "198.18.0"

// namePrefix starts every namespace this package creates.
const namePrefix = "plf"

// Net is a set of node namespaces on one bridge. Its methods are safe for
// concurrent use.
type Net struct {
	prefix string   // "plf<pid>x<random>-"
	nodes  []string // namespace names, index i = node i+1
	mu     sync.Mutex
	closed bool
}

// Check reports whether this machine can build a Net: root and `ip`
// (iptables-restore is checked by Cut).
func Check() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root", ErrUnsupported)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: no ip command (iproute2): %v", ErrUnsupported, err)
	}
	return checkOS()
}

// Create makes n node namespaces and the hub with its bridge. On error,
// what was made is removed again.
func Create(ctx context.Context, n int) (*Net, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("%w: %d nodes (1..200)", ErrBadNode, n)
	}
	var tag [3]byte
	_, _ = rand.Read(tag[:])
	nt := &Net{prefix: fmt.Sprintf("%s%dx%x-", namePrefix, os.Getpid(), tag)}
	for i := range n {
		nt.nodes = append(nt.nodes, fmt.Sprintf("%sn%d", nt.prefix, i+1))
	}
	if err := nt.build(ctx); err != nil {
		return nil, errors.Join(err, nt.Close())
	}
	return nt, nil
}

func (nt *Net) hub() string { return nt.prefix + "hub" }

// build runs the ip commands that make the network.
func (nt *Net) build(ctx context.Context) error {
	cmds := [][]string{
		{"netns", "add", nt.hub()},
		{"-n", nt.hub(), "link", "add", "br0", "type", "bridge"},
		{"-n", nt.hub(), "link", "set", "br0", "up"},
	}
	for i, ns := range nt.nodes {
		port := fmt.Sprintf("v%d", i+1)
		cmds = append(cmds,
			[]string{"netns", "add", ns},
			[]string{"link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", nt.hub()},
			[]string{"-n", nt.hub(), "link", "set", port, "master", "br0", "up"},
			[]string{"-n", ns, "addr", "add", nt.Addr(i+1) + "/24", "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"})
	}
	for _, args := range cmds {
		if err := run(ctx, nil, "ip", args...); err != nil {
			return err
		}
	}
	return nil
}

// Nodes is the number of nodes.
func (nt *Net) Nodes() int { return len(nt.nodes) }

// Addr is node i's address (i from 1).
func (nt *Net) Addr(i int) string { return fmt.Sprintf("%s.%d", Subnet, i) }

// Namespace is node i's namespace name.
func (nt *Net) Namespace(i int) string { return nt.nodes[i-1] }

// Exec returns the command line that runs argv inside node i's namespace
// (`ip netns exec NS argv...`: ip execs argv, so the process it starts is
// argv itself and signals reach it directly).
func (nt *Net) Exec(i int, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", nt.Namespace(i)}, argv...)
}

// LinkDown unplugs node i's cable at the bridge: its packets go nowhere,
// silently, until LinkUp.
func (nt *Net) LinkDown(ctx context.Context, i int) error { return nt.setPort(ctx, i, "down") }

// LinkUp plugs node i's cable back in.
func (nt *Net) LinkUp(ctx context.Context, i int) error { return nt.setPort(ctx, i, "up") }

func (nt *Net) setPort(ctx context.Context, i int, state string) error {
	if err := nt.check(i); err != nil {
		return err
	}
	return run(ctx, nil, "ip", "-n", nt.hub(), "link", "set", fmt.Sprintf("v%d", i), state)
}

func (nt *Net) check(nodes ...int) error {
	for _, i := range nodes {
		if i < 1 || i > len(nt.nodes) {
			return fmt.Errorf("%w: %d (1..%d)", ErrBadNode, i, len(nt.nodes))
		}
	}
	return nil
}

// Cut drops every packet between nodes of different sides (nodes from 1;
// a node in no side keeps reaching everyone): each node's INPUT chain
// drops what comes from the nodes of the other sides. It replaces the
// rules of an earlier Cut; Heal removes them.
func (nt *Net) Cut(ctx context.Context, sides ...[]int) error {
	for _, s := range sides {
		if err := nt.check(s...); err != nil {
			return err
		}
	}
	drop := dropRules(sides)
	for i := range nt.nodes {
		if err := nt.restore(ctx, i+1, drop[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// dropRules returns, per node, the nodes whose packets it drops.
func dropRules(sides [][]int) map[int][]int {
	drop := map[int][]int{}
	for a, sa := range sides {
		for b, sb := range sides {
			if a == b {
				continue
			}
			for _, i := range sa {
				drop[i] = append(drop[i], sb...)
			}
		}
	}
	return drop
}

// Heal removes every Cut.
func (nt *Net) Heal(ctx context.Context) error { return nt.Cut(ctx) }

// restore replaces node i's filter table with DROP rules for the packets
// of the nodes from (atomically: iptables-restore).
func (nt *Net) restore(ctx context.Context, i int, from []int) error {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	for _, j := range from {
		fmt.Fprintf(&b, "-A INPUT -s %s/32 -j DROP\n", nt.Addr(j))
	}
	b.WriteString("COMMIT\n")
	return run(ctx, strings.NewReader(b.String()), "ip", nt.Exec(i, "iptables-restore")[1:]...)
}

// Close kills the processes left in the namespaces and deletes them (and
// so the bridge and the veths). Idempotent.
func (nt *Net) Close() error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.closed {
		return nil
	}
	nt.closed = true
	return removeAll(append(append([]string{}, nt.nodes...), nt.hub()))
}

// removeAll kills every process in the namespaces that exist among names
// and deletes them.
func removeAll(names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	have, err := List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range names {
		if !have[ns] {
			continue
		}
		killIn(ctx, ns)
		if err := run(ctx, nil, "ip", "netns", "delete", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// List returns the namespaces `ip netns list` shows.
func List(ctx context.Context) (map[string]bool, error) {
	out, err := output(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			have[f[0]] = true
		}
	}
	return have, nil
}

// run runs a command; its error wraps ErrCommand with the output.
func run(ctx context.Context, stdin *strings.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s %s: %v: %s", ErrCommand, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// output runs a command and returns its stdout.
func output(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrCommand, name, strings.Join(args, " "), err)
	}
	return string(out), nil
}
