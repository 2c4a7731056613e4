package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/placerhq/placer/placement"

	"github.com/placerhq/placer/placement/agent/names"

	"github.com/placerhq/placer/placement/agent/cookie"
)

// TestParseInterleaved: flags may follow positional arguments; negative
// numbers stay positional; "--" ends the flags; bad flags are usage errors.
func TestParseInterleaved(t *testing.T) {
	var o cliOptions
	fs := cliFlags("x", &bytes.Buffer{}, &o)
	n := fs.Int("n", 1, "")
	pos, err := parseInterleaved(fs, []string{"key", "--n", "3", "--json", "-1", "--timeout=2s", "--", "--literal"})
	if err != nil || !slices.Equal(pos, []string{"key", "-1", "--literal"}) || *n != 3 || !o.json || o.timeout.Seconds() != 2 {
		t.Fatalf("pos %q n %d json %v timeout %v err %v", pos, *n, o.json, o.timeout, err)
	}
	if _, err := parseInterleaved(fs, []string{"k", "--bogus"}); !errors.Is(err, errUsage) {
		t.Fatalf("unknown flag: %v", err)
	}
	if _, err := parseInterleaved(fs, []string{"--n"}); !errors.Is(err, errUsage) {
		t.Fatalf("missing value: %v", err)
	}
}

// TestParseAgentAddr: NAME@HOST:PORT, a name from the names dir, or
// HOST:PORT of an agent in the names dir; hidden agents are not targets.
func TestParseAgentAddr(t *testing.T) {
	dir := t.TempDir()
	me := os.Getpid()
	for _, r := range []names.Record{
		{Name: "n1@127.0.0.1", PID: me, Transport: "127.0.0.1:9101"},
		{Name: "obs@127.0.0.1", PID: me, Hidden: true},
	} {
		if err := names.Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	ok := map[string]placement.AgentAddr{
		"n2@10.0.0.2:9100":  {Name: "n2@10.0.0.2", Addr: "10.0.0.2:9100"},
		"n1@127.0.0.1":      {Name: "n1@127.0.0.1", Addr: "127.0.0.1:9101"},
		"127.0.0.1:9101":    {Name: "n1@127.0.0.1", Addr: "127.0.0.1:9101"},
		"v6@[::1]:9100":     {Name: "v6@::1", Addr: "[::1]:9100"},
		"n1@127.0.0.1:9999": {Name: "n1@127.0.0.1", Addr: "127.0.0.1:9999"},
	}
	for in, want := range ok {
		got, err := parseAgentAddr(in, dir)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"ghost@127.0.0.1": "no agent named",
		"obs@127.0.0.1":   "hidden observer",
		"127.0.0.1:1":     "give its name too",
		"n@h:0":           "bad port",
		"nocolon":         "want NAME@HOST:PORT",
	} {
		if _, err := parseAgentAddr(in, dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	all, err := resolveAgents(nil, nil, dir)
	if err != nil || len(all) != 1 || all[0].Name != "n1@127.0.0.1" {
		t.Fatalf("default agents %+v %v", all, err)
	}
	if _, err := resolveAgents(nil, nil, filepath.Join(dir, "empty")); err == nil || !strings.Contains(err.Error(), "no agent in the names dir") {
		t.Fatalf("empty names dir: %v", err)
	}
	two, err := resolveAgents([]string{"n1@127.0.0.1"}, []string{"n2@10.0.0.2:9100"}, dir)
	if err != nil || len(two) != 2 {
		t.Fatalf("node and addr: %+v %v", two, err)
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
		{"call", "a", "b", "c", "d"}, {"rpc", "node"}, {"members", "extra"}, {"monitor", "--count", "-1"},
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
