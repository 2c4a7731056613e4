package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/names"
)

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
		got, err := ParseAgentAddr(in, dir)
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
		_, err := ParseAgentAddr(in, dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
		if bad := want == "bad port" || want == "want NAME@HOST:PORT"; bad != errors.Is(err, ErrBadAddr) || !bad && !errors.Is(err, ErrNoAgent) {
			t.Errorf("%s: %v: want ErrBadAddr for a malformed address, else ErrNoAgent", in, err)
		}
	}
	all, err := Agents(dir, nil, nil)
	if err != nil || len(all) != 1 || all[0].Name != "n1@127.0.0.1" {
		t.Fatalf("default agents %+v %v", all, err)
	}
	if _, err := Agents(filepath.Join(dir, "empty"), nil, nil); err == nil || !strings.Contains(err.Error(), "no agent in the names dir") {
		t.Fatalf("empty names dir: %v", err)
	}
	two, err := Agents(dir, []string{"n1@127.0.0.1"}, []string{"n2@10.0.0.2:9100"})
	if err != nil || len(two) != 2 {
		t.Fatalf("node and addr: %+v %v", two, err)
	}
}
