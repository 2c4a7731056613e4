package membership

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestJoinWithoutPortNeverJoinsSelf: "--join 127.0.0.1" used to take
// memberlist's default, this node's own port: the node joined itself and
// logged "joined cluster". Now a missing port is DefaultPort, and this
// node's own address is refused.
func TestJoinWithoutPortNeverJoinsSelf(t *testing.T) {
	cfg := localConfig("self@127.0.0.1", newCookie(t))
	cfg.RetryJoinMax = 1
	m, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	if _, err := m.Join([]string{"127.0.0.1"}); err == nil || m.isJoined() {
		t.Fatalf("a portless join address joined: %v", err)
	}
	_, err = m.Join([]string{m.GossipAddr()})
	if !errors.Is(err, ErrJoinFailed) || !strings.Contains(JoinCause(err), "own gossip address") || m.isJoined() {
		t.Fatalf("joining itself: %v (%s)", err, JoinCause(err))
	}
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1:7946", "h:1": "h:1", "n/10.0.0.2": "n/10.0.0.2:7946", "::1": "[::1]:7946"} {
		if got := JoinAddr(in); got != want {
			t.Errorf("JoinAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJoinWrongCookieWarnsOnTheSeed: a node with another cookie fails to
// join with a cause naming the cookie, and the seed logs a warning naming
// the source address (the failed decryption was a debug line before).
func TestJoinWrongCookieWarnsOnTheSeed(t *testing.T) {
	var seedLog syncBuffer
	sc := localConfig("seed@127.0.0.1", newCookie(t))
	sc.Logger = zerolog.New(&seedLog).Level(zerolog.InfoLevel)
	seed, err := Start(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Shutdown()
	jc := localConfig("stranger@127.0.0.1", newCookie(t))
	jc.RetryJoinMax = 1
	j, err := Start(jc)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Shutdown()
	_, err = j.Join([]string{seed.GossipAddr()})
	if !strings.Contains(JoinCause(err), "wrong cookie") {
		t.Fatalf("cause of %v: %q", err, JoinCause(err))
	}
	waitFor(t, 5*time.Second, func() bool {
		s := seedLog.String()
		return strings.Contains(s, `"level":"warn"`) && strings.Contains(s, `"from":"127.0.0.1:`) && strings.Contains(s, "gossip-auth")
	}, "no warning on the seed: %s", lazy(func() any { return seedLog.String() }))
}

func TestJoinCause(t *testing.T) {
	for text, want := range map[string]string{
		"failed to join 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused": "nothing listening",
		"failed to resolve nosuch.invalid:7946: lookup nosuch.invalid: no such host":    "name resolution",
		"failed to join x: no installed keys could decrypt the message":                 "wrong cookie",
		"i/o timeout": "unreachable",
		"other":       "",
	} {
		if got := JoinCause(errors.New(text)); !strings.HasPrefix(got, want) {
			t.Errorf("%q: %q, want %q...", text, got, want)
		}
	}
}

// TestSnapshotPeers: the members a snapshot lists as alive, without self
// and those marked not-alive after.
func TestSnapshotPeers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "snap")
	text := "alive: a@h 10.0.0.1:7946\nalive: me@h 10.0.0.9:7946\nclock: 3\nalive: b@h 10.0.0.2:7946\nnot-alive: b@h\nalive: c@h 10.0.0.3:7946\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got := readSnapshotPeers(p, "me@h")
	if len(got) != 2 || got[0] != (Peer{"a@h", "10.0.0.1:7946"}) || got[1].Name != "c@h" {
		t.Fatalf("peers %+v", got)
	}
	if readSnapshotPeers(filepath.Join(t.TempDir(), "none"), "me@h") != nil {
		t.Fatal("a missing snapshot lists peers")
	}
}
