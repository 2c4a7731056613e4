package bench

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/placerhq/placer/ring"
)

func TestParseScenarioErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"join a\njoin a\n", "s:2: duplicate join: a is already a member"},
		{"leave nobody", "s:1: unknown node nobody"},
		{"# c\n\nweight node-00001 -2", "s:3: negative weight -2"},
		{"join b 0", "s:1: weight 0"},
		{"join b 99999", "s:1: weight 99999 above 4096"},
		{"join b x", "s:1: weight \"x\" is not an integer"},
		{"jion b", "s:1: unknown command \"jion\""},
		{"leave", "s:1: leave takes 1 to 1 arguments, got 0"},
		{"leave node-00000; leave node-00001; leave node-00002", "s:1: the last member cannot leave"},
		{"# only a comment\n", "s: no events"},
	} {
		_, err := ParseScenario("s", strings.NewReader(c.text), churnMembers(3), 1)
		if !errors.Is(err, ErrBadScenario) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// The example in testdata parses into the events its comments describe.
func TestParseScenarioExample(t *testing.T) {
	f, err := os.Open("../testdata/churn/example.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseScenario("example", f, churnMembers(8), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 9 || s.Events[0].Label != "a bigger host joins" || len(s.Events[1].Changes) != 2 || !s.Events[1].Changes[0].Fail {
		t.Fatalf("events: %+v", s.Events)
	}
	if last := s.Events[4].Changes[0]; last.Op != ring.OpRemove || last.Member.Name != "big-01" {
		t.Fatalf("weight 0 must drain (remove) the member: %+v", last)
	}
	if s.Events[8].At != 90 {
		t.Fatalf("events are --interval apart: %v", s.Events[8].At)
	}
}

// Every built-in scenario keeps at least one member and changes something.
func TestBuiltinScenarios(t *testing.T) {
	p := ScenarioParams{Nodes: 10, Events: 30, Flaps: 5, Seed: 3, Interval: 1, Drain: 4}
	want := map[string]int{"rolling-restart": 20, "deploy-surge": 1 + 10 + 7, "scale-out": 10, "scale-in": 9, "zone-loss": 2, "flapping": 10, "reweight": 4, "random": 30}
	for _, name := range BuiltinScenarios {
		s, err := BuiltinScenario(name, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Events) != want[name] {
			t.Errorf("%s: %d events, want %d", name, len(s.Events), want[name])
		}
		ws := weights{}
		for _, m := range s.Initial {
			ws[m.Name] = m.Weight
		}
		for _, ev := range s.Events {
			ws.apply(ev.Changes)
			if len(ws) == 0 {
				t.Fatalf("%s empties the cluster", name)
			}
		}
	}
	if _, err := BuiltinScenario("nope", p); !errors.Is(err, ErrBadScenario) {
		t.Fatal(err)
	}
}
