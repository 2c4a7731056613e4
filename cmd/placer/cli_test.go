package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/placerhq/placer/internal/cliflag"
	"github.com/placerhq/placer/placement/agent/cookie"
)

// TestParseInterleaved: flags may follow positional arguments; negative
// numbers stay positional; "--" ends the flags; bad flags are usage errors.
func TestParseInterleaved(t *testing.T) {
	var o cliOptions
	fs := cliFlags("x", &bytes.Buffer{}, &o)
	n := fs.Int("n", 1, "")
	pos, err := cliflag.ParseInterleaved(fs, []string{"key", "--n", "3", "--json", "-1", "--timeout=2s", "--", "--literal"})
	if err != nil || !slices.Equal(pos, []string{"key", "-1", "--literal"}) || *n != 3 || !o.json || o.timeout.Seconds() != 2 {
		t.Fatalf("pos %q n %d json %v timeout %v err %v", pos, *n, o.json, o.timeout, err)
	}
	if _, err := cliflag.ParseInterleaved(fs, []string{"k", "--bogus"}); !errors.Is(err, errUsage) {
		t.Fatalf("unknown flag: %v", err)
	}
	if _, err := cliflag.ParseInterleaved(fs, []string{"--n"}); !errors.Is(err, errUsage) {
		t.Fatalf("missing value: %v", err)
	}
}

// TestCLIUsageErrors: bad command lines exit 2 with a message, and a
// missing cookie file is explained (exit 1), before any network use.
func TestCLIUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cookieFile := filepath.Join(dir, "cookie")
	if _, _, err := cookie.Ensure(cookieFile); err != nil {
		t.Fatal(err)
	}
	common := []string{"--names-dir", dir, "--cookie-file", cookieFile}
	for _, args := range [][]string{
		{"lookup"}, {"lookup", "a", "b"}, {"lookup", "k", "--n", "0"}, {"send", "counter"},
		{"call", "a"}, {"rpc", "node"}, {"members", "extra"}, {"monitor", "--count", "-1"},
		{"force-leave", "n@h"}, {"quorum", "reset"}, {"monitor", "--pid", "nonsense"}, {"spawn", "n@h"},
		{"names", "extra"}, {"members", "--timeout", "0s"}, {"members", "--addr", "nocolon"},
		{"agent", "--name", "bad"},
	} {
		var stderr bytes.Buffer
		if code := run(append(args, common...), &bytes.Buffer{}, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	code := run([]string{"members", "--cookie-file", filepath.Join(dir, "none"), "--names-dir", dir}, &bytes.Buffer{}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no cookie file") {
		t.Fatalf("missing cookie: exit %d %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(append([]string{"members"}, common...), &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "no agent in the names dir") {
		t.Fatalf("no agents: exit %d %q", code, stderr.String())
	}
}

// TestNamesCommandEmpty: `placer names` on an empty directory says so.
func TestNamesCommandEmpty(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := run([]string{"names", "--names-dir", dir}, &out, &bytes.Buffer{}); code != 0 || !strings.Contains(out.String(), "no agents") {
		t.Fatalf("exit %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"names", "--names-dir", dir, "--json"}, &out, &bytes.Buffer{}); code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("json: exit %d %q", code, out.String())
	}
}

// TestCLIExitCodes: `placer` alone shows the help and exits 2 (it exited
// 0); `placer bench` and `placer quorum` alone list their subcommands
// (exit 2); help asked for exits 0.
func TestCLIExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "commands:") {
		t.Fatalf("placer alone: exit %d, stderr %q", code, errb.String())
	}
	for group, want := range map[string]string{"bench": "bench ring", "quorum": "quorum reset"} {
		errb.Reset()
		if code := run([]string{group}, &out, &errb); code != 2 || !strings.Contains(errb.String(), want) || strings.Contains(errb.String(), "  members") {
			t.Fatalf("placer %s: exit %d, %q", group, code, errb.String())
		}
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "force-leave") {
		t.Fatalf("help: exit %d", code)
	}
}
