package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

const sampleJSON = `{"Action":"run","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestBad","Output":"    a_test.go:9: boom\n"}
{"Action":"fail","Package":"p/a","Test":"TestBad"}
{"Action":"fail","Package":"p/a"}
{"Action":"output","Package":"p/b","Output":"panic: in TestMain\n"}
{"Action":"fail","Package":"p/b"}
not json
`

func TestCollect(t *testing.T) {
	fails := collect(strings.NewReader(sampleJSON))
	if len(fails) != 2 {
		t.Fatalf("failures %+v, want TestBad and package p/b", fails)
	}
	if fails[0].name != "p/a TestBad" || !strings.Contains(fails[0].output, "boom") {
		t.Fatalf("first failure %+v", fails[0])
	}
	if fails[1].name != "p/b (package)" || !strings.Contains(fails[1].output, "panic") {
		t.Fatalf("package failure %+v", fails[1])
	}
}

func TestReportCountsAndExit(t *testing.T) {
	var r report
	r.add(1, []failure{{name: "p TestX", output: "first\n"}}, nil)
	r.add(2, nil, nil)
	r.add(3, []failure{{name: "p TestX", output: "second\n"}}, nil)
	var out bytes.Buffer
	r.print(&out, options{hogs: 2, pkgs: []string{"./..."}, timeout: time.Minute, race: true}, time.Second)
	s := out.String()
	if !r.failed() || !strings.Contains(s, "FAIL    2 of 3  p TestX") || !strings.Contains(s, "first") || strings.Contains(s, "second") {
		t.Fatalf("report:\n%s", s)
	}
}

// The hogs stop when asked, and a cancelled run ends at once with a
// failing status.
func TestHogsStopAndCancel(t *testing.T) {
	stop := startHogs(2)
	stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if code := run(ctx, options{runs: 3, hogs: 1, pkgs: []string{"./nonexistent"}, timeout: time.Minute}, &out); code != 1 {
		t.Fatalf("cancelled run exited %d:\n%s", code, out.String())
	}
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	if _, err := parseFlags([]string{"-runs", "0"}, &stderr); err == nil {
		t.Fatal("-runs 0 accepted")
	}
	o, err := parseFlags([]string{"-runs", "3", "-pkgs", "./a ./b", "-cpu", "1,2"}, &stderr)
	if err != nil || o.runs != 3 || len(o.pkgs) != 2 || o.cpu != "1,2" {
		t.Fatalf("%+v %v", o, err)
	}
}
