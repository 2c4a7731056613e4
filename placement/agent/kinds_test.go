package agent

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/placerhq/placer/node"
)

func counterCall(t *testing.T, c *counter, req string) string {
	t.Helper()
	out, err := c.HandleCall(nil, node.PID{}, []byte(req))
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return string(out)
}

// TestCounterKind: messages add, calls read or add, state moves.
func TestCounterKind(t *testing.T) {
	c := &counter{}
	for _, m := range []string{"5", "", " -2 ", "junk"} {
		c.HandleMessage(nil, node.Message{Payload: []byte(m)})
	}
	c.HandleMessage(nil, node.Down{})
	if got := counterCall(t, c, "get"); got != "4" {
		t.Fatalf("after messages: %s", got)
	}
	if got := counterCall(t, c, "10"); got != "14" {
		t.Fatalf("add call: %s", got)
	}
	if _, err := c.HandleCall(nil, node.PID{}, []byte("twelve")); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("bad call: %v", err)
	}
	state, _ := c.ExportState(nil)
	moved := &counter{}
	if err := moved.ImportState(nil, state); err != nil || counterCall(t, moved, "") != "14" {
		t.Fatalf("handoff lost the value: %v", err)
	}
	if counterCall(t, moved, "reset") != "0" {
		t.Fatal("reset")
	}
	if moved.ImportState(nil, []byte("x")) == nil {
		t.Fatal("bad state accepted")
	}
}

// TestKVKind: set, get, del, keys and all, limits, and handoff.
func TestKVKind(t *testing.T) {
	s := Kinds()[KindKV]().(*kv)
	s.HandleMessage(nil, node.Message{Payload: []byte("set a hello world")})
	call := func(req string) (string, error) {
		out, err := s.HandleCall(nil, node.PID{}, []byte(req))
		return string(out), err
	}
	if v, err := call("get a"); err != nil || v != "hello world" {
		t.Fatalf("get a: %q %v", v, err)
	}
	if v, _ := call("set b 2"); v != "ok" {
		t.Fatal("set")
	}
	if v, _ := call("keys"); v != `["a","b"]` {
		t.Fatalf("keys %s", v)
	}
	if v, _ := call("del a"); v != "ok" {
		t.Fatal("del")
	}
	if v, _ := call(""); v != `{"b":"2"}` {
		t.Fatalf("all %s", v)
	}
	for _, bad := range []string{"get a", "set onlykey", "frob", "get"} {
		if _, err := call(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := call("set big " + string(make([]byte, kvMaxValue+1))); !errors.Is(err, ErrBadRequest) {
		t.Fatal("oversized value accepted")
	}
	state, _ := s.ExportState(nil)
	moved := &kv{}
	if err := moved.ImportState(nil, state); err != nil || moved.m["b"].Value != "2" {
		t.Fatalf("handoff: %v %v", moved.m, err)
	}
}

// TestCounterOverflow: an add past the int64 range is refused with an
// error (a call) or ignored (a message); the value stays (it used to wrap
// around silently).
func TestCounterOverflow(t *testing.T) {
	c := &counter{}
	if got := counterCall(t, c, strconv.FormatInt(math.MaxInt64, 10)); got != strconv.FormatInt(math.MaxInt64, 10) {
		t.Fatalf("max: %s", got)
	}
	if _, err := c.HandleCall(nil, node.PID{}, []byte("1")); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "overflow") {
		t.Fatalf("overflowing call: %v", err)
	}
	c.HandleMessage(nil, node.Message{})
	if got := counterCall(t, c, "get"); got != strconv.FormatInt(math.MaxInt64, 10) {
		t.Fatalf("after refused adds: %s", got)
	}
	low := &counter{value: math.MinInt64 + 1}
	if _, err := low.HandleCall(nil, node.PID{}, []byte("-2")); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("underflowing call: %v", err)
	}
	if got := counterCall(t, low, "-1"); got != strconv.FormatInt(math.MinInt64, 10) {
		t.Fatalf("min: %s", got)
	}
}

// TestKVMerge: two copies of one kv key written on both sides of a
// partition merge entry by entry, the later write winning, and a delete
// stays deleted.
func TestKVMerge(t *testing.T) {
	a, b := &kv{m: map[string]kvEntry{}}, &kv{m: map[string]kvEntry{}}
	do := func(s *kv, req string) {
		t.Helper()
		if _, err := s.HandleCall(nil, node.PID{}, []byte(req)); err != nil {
			t.Fatalf("%s: %v", req, err)
		}
	}
	do(a, "set x 1")
	do(a, "set gone 1")
	b.observe(a.hlc) // b's writes happen after a's (HLC order, not wall clock)
	do(b, "set x 2")
	do(b, "set y 3")
	do(b, "del gone") // later than a's set
	a.observe(b.hlc)
	do(a, "set z 4") // later than everything on b
	bs, _ := b.ExportState(nil)
	if err := a.MergeState(nil, bs); err != nil {
		t.Fatal(err)
	}
	out, _ := a.HandleCall(nil, node.PID{}, []byte("all"))
	if string(out) != `{"x":"2","y":"3","z":"4"}` {
		t.Fatalf("merged %s", out)
	}
	do(a, "set w 5") // the clock moved past everything merged
	if a.m["w"].Time <= b.m["y"].Time {
		t.Fatal("clock did not advance past the merged times")
	}
}
