package faults

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestScenarioTable(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range Scenarios() {
		if seen[sc.Name] || sc.script == nil || sc.judge == nil || sc.Title == "" {
			t.Fatalf("scenario %+v: duplicate or incomplete", sc.Name)
		}
		seen[sc.Name] = true
	}
	for _, want := range []string{"kill", "stop-short", "stop-long", "link", "isolate", "partition", "quorum", "ac-cut", "rolling", "restart", "cookie"} {
		if !seen[want] {
			t.Errorf("no scenario %s", want)
		}
	}
	if got := selected(Scenarios(), []string{"cookie", "kill"}); len(got) != 2 || got[0].Name != "kill" {
		t.Fatalf("selected keeps the table order: %v", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := DefaultOptions()
	ok.Placer, ok.Dir = "/bin/true", t.TempDir()
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Options){
		"no placer": func(o *Options) { o.Placer = "" },
		"replicas":  func(o *Options) { o.Replicas = 6 },
		"profile":   func(o *Options) { o.Profile = "wan" },
		"keys":      func(o *Options) { o.Keys = 0 },
		"period":    func(o *Options) { o.Period = time.Millisecond },
		"scenario":  func(o *Options) { o.Scenarios = []string{"nope"} },
	} {
		o := ok
		mod(&o)
		if err := o.validate(); !errors.Is(err, ErrUsage) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ok.hold(true) != 10*time.Second || ok.hold(false) != 5*time.Second {
		t.Fatal("short holds")
	}
	ok.Full = true
	if ok.hold(true) != 30*time.Second || ok.hold(false) != 10*time.Second {
		t.Fatal("full holds: the issue's 30 s split")
	}
}

func TestCommandUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"--bogus"}, {"--scenario", "nope", "--placer", "/bin/true", "--out", t.TempDir()}, {"extra"}} {
		if err := Command(args, nil, &out, &errb); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: %v", args, err)
		}
	}
	if err := Command([]string{"worker", "--keys", "0"}, nil, &out, &errb); !errors.Is(err, ErrUsage) {
		t.Errorf("worker with bad flags: %v", err)
	}
}

func TestKnown(t *testing.T) {
	in := "# comment\n\npartition | every key on exactly one node | live-lock after heal (issue 11)\n"
	known, err := parseKnown(strings.NewReader(in), "k.txt")
	if err != nil || len(known) != 1 || known[0].Scenario != "partition" || known[0].Why != "live-lock after heal (issue 11)" {
		t.Fatalf("%+v %v", known, err)
	}
	if _, err := parseKnown(strings.NewReader("partition | x\n"), "k.txt"); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "k.txt:1") {
		t.Fatalf("a bad line: %v", err)
	}
	r := ScenarioResult{Name: "partition", Bounds: []Bound{
		{Name: "every key on exactly one node after the merge", Pass: false},
		{Name: "acknowledged kv writes lost", Pass: false},
		{Name: "keys held by two nodes", Pass: true},
	}}
	markKnown(&r, known)
	if r.Bounds[0].Known == "" || r.Bounds[1].Known != "" || r.failed(false) != 2 || r.failed(true) != 1 {
		t.Fatalf("%+v", r.Bounds)
	}
	rep := &Report{Scenarios: []ScenarioResult{r}}
	rep.finish()
	if rep.Pass || rep.Gate || rep.Failed != 2 || rep.Known != 1 {
		t.Fatalf("an unknown failure fails the gate: %+v", rep)
	}
	r.Bounds = r.Bounds[:1]
	rep = &Report{Scenarios: []ScenarioResult{r}}
	rep.finish()
	if rep.Pass || !rep.Gate {
		t.Fatalf("only known failures: not a pass, but the gate holds: %+v", rep)
	}
}

func TestMarkdown(t *testing.T) {
	rep := &Report{Started: time.Unix(0, 0), Machine: "test", Scenarios: []ScenarioResult{{
		Name: "kill", Title: "SIGKILL one agent", Bounds: []Bound{
			{Name: "b1", Source: srcIssue, Limit: "0", Measured: "0", Pass: true},
			{Name: "b2", Source: srcDesign, Limit: "0", Measured: "3: of 10", Pass: false, Known: "bug 1"},
		}, Figures: []Figure{{Name: "f", Value: "v"}}}}}
	rep.finish()
	var b bytes.Buffer
	if err := rep.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 of 2 bounds held", "| b2 | DESIGN | 0 | 3: of 10 | **FAIL** (known: bug 1) |", "- f: v", "[kill](#kill)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
