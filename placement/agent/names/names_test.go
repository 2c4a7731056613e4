package names

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` command:", err)
	}
	return cmd.Process.Pid
}

// TestNamesRecords: records are written, listed sorted, looked up by name,
// refused for a name a live agent holds, and removed only by their owner.
func TestNamesRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "names")
	me := os.Getpid()
	recs := []Record{
		{Name: "b@127.0.0.1", PID: me, Transport: "127.0.0.1:2", Gossip: "127.0.0.1:3", Started: time.Now()},
		{Name: "a@127.0.0.1", PID: me, Transport: "127.0.0.1:1", Hidden: true},
		{Name: "odd/name@h", PID: me, Transport: "h:4"},
	}
	for _, r := range recs {
		if err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v %v", st.Mode(), err)
	}
	got, err := List(dir)
	if err != nil || len(got) != 3 || got[0].Name != "a@127.0.0.1" || got[1].Name != "b@127.0.0.1" || !got[0].Hidden {
		t.Fatalf("list %+v %v", got, err)
	}
	if r, ok := Lookup(dir, "odd/name@h"); !ok || r.Transport != "h:4" {
		t.Fatalf("lookup with a slash: %+v %v", r, ok)
	}
	taken := Record{Name: "b@127.0.0.1", PID: me + 1}
	if err := Write(dir, taken); err == nil || !strings.Contains(err.Error(), "in use by pid") {
		t.Fatalf("duplicate live name: %v", err)
	}
	Remove(dir, "b@127.0.0.1", me+1) // not ours: kept
	if _, ok := Lookup(dir, "b@127.0.0.1"); !ok {
		t.Fatal("a record was removed by a non-owner")
	}
	Remove(dir, "b@127.0.0.1", me)
	if _, ok := Lookup(dir, "b@127.0.0.1"); ok {
		t.Fatal("record not removed")
	}
}

// TestNamesStaleCleaned: records of dead processes and garbage files are
// ignored and removed; a dead agent's name can be taken again.
func TestNamesStaleCleaned(t *testing.T) {
	dir := t.TempDir()
	dead := deadPID(t)
	if err := Write(dir, Record{Name: "dead@h", PID: dead}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := List(dir)
	if err != nil || len(got) != 0 {
		t.Fatalf("stale records listed: %+v %v", got, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(left) != 0 {
		t.Fatalf("stale files left: %v", left)
	}
	if err := Write(dir, Record{Name: "dead@h", PID: dead}); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, Record{Name: "dead@h", PID: os.Getpid()}); err != nil {
		t.Fatalf("a dead agent's name must be free: %v", err)
	}
	if missing, err := List(filepath.Join(dir, "nope")); err != nil || missing != nil {
		t.Fatalf("missing dir: %v %v", missing, err)
	}
}

// TestNamesDirChecks: a names directory others can write to is refused;
// the default follows the flag, then PLACER_NAMES_DIR, XDG_RUNTIME_DIR,
// then /tmp/placer-UID.
func TestNamesDirChecks(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(open); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("world-writable dir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(file, nil, 0o600)
	if err := EnsureDir(file); err == nil {
		t.Fatal("a file accepted as names dir")
	}
	t.Setenv(EnvDir, "/env/dir")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1")
	if Dir("/flag") != "/flag" || Dir("") != "/env/dir" {
		t.Fatal("flag or env not preferred")
	}
	t.Setenv(EnvDir, "")
	if Dir("") != "/run/user/1/placer" {
		t.Fatal("XDG_RUNTIME_DIR not used")
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if d := Dir(""); !strings.HasPrefix(filepath.Base(d), "placer-") {
		t.Fatalf("fallback %s", d)
	}
}

// TestResolver: the resolver answers a live agent's transport address and
// "" for an unknown node.
func TestResolver(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, Record{Name: "r@h", PID: os.Getpid(), Transport: "127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}
	resolve := Resolver(dir)
	if addr, err := resolve("r@h"); err != nil || addr != "127.0.0.1:9" {
		t.Fatalf("r@h: %q %v", addr, err)
	}
	if addr, err := resolve("ghost@h"); err != nil || addr != "" {
		t.Fatalf("ghost@h: %q %v", addr, err)
	}
	if err := CheckFree(dir, "r@h", os.Getpid()+1); !errors.Is(err, ErrInUse) || !errors.Is(err, ErrDir) {
		t.Fatalf("CheckFree of a taken name: %v", err)
	}
}
