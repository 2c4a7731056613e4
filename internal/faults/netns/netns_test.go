package netns

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// newNet creates a Net or skips the test where that is impossible (not
// root, no ip, not Linux).
func newNet(t *testing.T, n int) *Net {
	t.Helper()
	if err := Check(); err != nil {
		t.Skip(err)
	}
	nt, err := Create(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nt.Close(); err != nil {
			t.Error(err)
		}
	})
	return nt
}

// echo listens on node i's address and answers every connection with "hi".
func echo(t *testing.T, nt *Net, i int) string {
	t.Helper()
	var ln net.Listener
	if err := nt.Do(i, func() (err error) {
		ln, err = net.Listen("tcp", nt.Addr(i)+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// reach reports whether node from reaches addr within a short timeout.
func reach(nt *Net, from int, addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c, err := nt.Dialer(from)(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	b := make([]byte, 2)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, _ := c.Read(b)
	return string(b[:n]) == "hi"
}

func TestNetFaults(t *testing.T) {
	nt := newNet(t, 3)
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		t.Skip("no iptables-restore:", err)
	}
	ctx := context.Background()
	a1, a3 := echo(t, nt, 1), echo(t, nt, 3)
	if !reach(nt, 2, a1) || !reach(nt, 3, a1) || !reach(nt, 1, a3) {
		t.Fatal("nodes do not reach each other")
	}
	if reach(nt, 2, "127.0.0.1:1") {
		t.Fatal("host loopback visible")
	}
	if err := nt.Cut(ctx, []int{1}, []int{3}); err != nil { // A–C only
		t.Fatal(err)
	}
	if reach(nt, 3, a1) || reach(nt, 1, a3) || !reach(nt, 2, a1) || !reach(nt, 2, a3) {
		t.Fatal("A–C cut: want 1 and 3 apart, both reachable from 2")
	}
	if err := nt.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if !reach(nt, 3, a1) {
		t.Fatal("not healed")
	}
	if err := nt.LinkDown(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if reach(nt, 2, a1) {
		t.Fatal("link down: 1 still reachable")
	}
	if err := nt.LinkUp(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !reach(nt, 2, a1) {
		t.Fatal("link up: 1 unreachable")
	}
	if err := nt.Cut(ctx, []int{9}); !errors.Is(err, ErrBadNode) {
		t.Fatalf("node 9: %v", err)
	}
}

func TestCloseIdempotentAndStale(t *testing.T) {
	nt := newNet(t, 2)
	ctx := context.Background()
	if err := nt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := nt.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	have, err := List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ns := range have {
		if strings.HasPrefix(ns, nt.prefix) {
			t.Fatalf("%s left after Close", ns)
		}
	}
	// A namespace of a dead creator (pid 2^22+1 exceeds pid_max's ceiling)
	// is stale; ours is not.
	dead := "plf4194305xdead-n1"
	if err := run(ctx, nil, "ip", "netns", "add", dead); err != nil {
		t.Fatal(err)
	}
	live := newNet(t, 1)
	stale, err := CleanupStale(ctx)
	if err != nil || len(stale) != 1 || stale[0] != dead {
		t.Fatalf("CleanupStale: %v %v", stale, err)
	}
	if stale, err = CleanupStale(ctx); err != nil || len(stale) != 0 {
		t.Fatalf("second CleanupStale: %v %v", stale, err)
	}
	if have, _ := List(ctx); !have[live.Namespace(1)] {
		t.Fatal("CleanupStale removed a live harness's namespace")
	}
}

func TestCreator(t *testing.T) {
	for ns, want := range map[string]int{"plf123x0a0b0c-n1": 123, "plf7xff-hub": 7, "plfx-n1": 0, "other": 0, "plf12-n1": 0} {
		pid, ok := creator(ns)
		if (want == 0 && ok) || (want != 0 && pid != want) {
			t.Errorf("%s: %d %v, want %d", ns, pid, ok, want)
		}
	}
}

func TestDropRules(t *testing.T) {
	got := dropRules([][]int{{1, 2}, {3, 4, 5}})
	if len(got[1]) != 3 || len(got[3]) != 2 || got[3][1] != 2 {
		t.Fatalf("%v", got)
	}
	if got := dropRules([][]int{{1}, {3}}); len(got[2]) != 0 || got[1][0] != 3 || got[3][0] != 1 {
		t.Fatalf("A–C: %v", got)
	}
}
