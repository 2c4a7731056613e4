package check

import (
	"testing"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
)

const s = int64(time.Second)

// op builds a call record from t0 to t0+10 ms.
func op(t0 int64, node, typ, key string, ok bool) history.Op {
	o := history.Op{Start: t0, End: t0 + 10*int64(time.Millisecond), Node: node, Type: typ, Key: key, OK: ok}
	if !ok {
		o.Code = history.CodeNoConnection
	}
	return o
}

func write(t0 int64, node, key, field, value string, ok bool) history.Op {
	o := op(t0, node, history.OpWrite, key, ok)
	o.Field, o.Value = field, value
	return o
}

func final(typ, key, value string) history.Op {
	o := op(100*s, "n1", typ, key, true)
	if typ == history.OpFinalWhereis {
		o.PID = value
	} else {
		o.Value = value
	}
	return o
}

func TestLostWrites(t *testing.T) {
	ops := []history.Op{
		write(1*s, "n1", "k1", "a.n1.1", "1", true),
		write(2*s, "n1", "k1", "a.n1.2", "2", true),
		write(3*s, "n1", "k1", "a.n1.3", "3", false), // not acknowledged: may be lost
		write(4*s, "n1", "k1", "a.n1.4", "4", true),  // overwritten history hides nothing: lost
		write(1*s, "n2", "k2", "a.n2.1", "1", true),
		write(1*s, "n2", "k3", "a.n2.1", "1", true), // k3: no final state
		final(history.OpFinalKV, "k1", `{"a.n1.1":"1","a.n1.2":"2","a.n1.3":"3"}`),
		final(history.OpFinalKV, "k2", `{"a.n2.1":"1"}`),
	}
	l := LostWrites(ops)
	if l.Acked != 4 || len(l.Lost) != 1 || l.Lost[0].Field != "a.n1.4" || l.Unverified != 1 {
		t.Fatalf("%+v", l)
	}
}

func TestLostWritesWrongValueAndCounters(t *testing.T) {
	ops := []history.Op{
		write(1*s, "n1", "k1", "a.n1.1", "1", true),
		final(history.OpFinalKV, "k1", `{"a.n1.1":"9"}`),
		op(1*s, "n1", history.OpIncr, "k1", true),
		op(2*s, "n1", history.OpIncr, "k1", true),
		op(3*s, "n1", history.OpIncr, "k1", true),
		op(4*s, "n1", history.OpIncr, "k1", false),
		final(history.OpFinalCounter, "k1", "1"),
		op(1*s, "n1", history.OpIncr, "k2", true),
		final(history.OpFinalCounter, "k2", "3"),  // more than ever attempted
		op(1*s, "n1", history.OpIncr, "k3", true), // no final value
	}
	l := LostWrites(ops)
	if len(l.Lost) != 1 || l.IncrAcked != 4 || l.IncrLost != 2 || l.IncrExtra != 2 || l.CounterFinal != 4 || l.IncrUnverified != 1 {
		t.Fatalf("%+v", l)
	}
}

// read builds a read record of a stream.
func read(t0 int64, node, key string, order, sent, round, probe int64, intact bool) history.Op {
	o := op(t0, node, history.OpRead, key, true)
	o.Order, o.Sent, o.Seq, o.Probe, o.Intact = order, sent, round, probe, intact
	return o
}

func TestReordersClean(t *testing.T) {
	ops := []history.Op{
		read(1*s, "n1", "k1", 1, 1, 1, 1, true),
		read(2*s, "n1", "k1", 2, 2, 2, 2, true),
		read(3*s, "n1", "k1", 2, 3, 3, 3, true), // send 3 dropped: behind, not backwards
		read(4*s, "n1", "k1", 4, 3, 4, 4, true), // send 4 errored but was applied: fine
		read(5*s, "n1", "k1", -1, 5, 5, 5, false),
		read(6*s, "n1", "k1", 6, 6, 6, 6, true),
		read(1*s, "n2", "k1", 9, 9, 9, 9, true), // another stream
	}
	o := Reorders(ops)
	if len(o.Backwards) != 0 || o.Behind != 1 || o.Reverted != 1 || len(o.Phantom) != 0 || o.Reads != 7 {
		t.Fatalf("%+v", o)
	}
}

func TestReordersFlagged(t *testing.T) {
	ops := []history.Op{
		read(2*s, "n1", "k1", 5, 5, 5, 5, true),
		read(1*s, "n1", "k1", 4, 4, 4, 4, true), // out of order in the file: sorted by Start
		read(3*s, "n1", "k1", 3, 6, 6, 6, true), // went back from 5 to 3 with the state intact
		read(4*s, "n1", "k1", 9, 7, 7, 7, true), // 9 was never sent
	}
	o := Reorders(ops)
	if len(o.Backwards) != 1 || o.Backwards[0][0].Order != 5 || o.Backwards[0][1].Order != 3 {
		t.Fatalf("backwards: %+v", o.Backwards)
	}
	if len(o.Phantom) != 1 || o.Phantom[0].Order != 9 {
		t.Fatalf("phantom: %+v", o.Phantom)
	}
}

func monitor(t0 int64, node, key, pid string, ref uint64) history.Op {
	o := op(t0, node, history.OpMonitor, key, true)
	o.PID, o.Ref = pid, ref
	return o
}

func down(t0 int64, node, key, pid string, ref uint64, reason string) history.Op {
	o := op(t0, node, history.OpDown, key, true)
	o.PID, o.Ref, o.Err = pid, ref, reason
	return o
}

func TestDowns(t *testing.T) {
	ops := []history.Op{
		monitor(1*s, "n1", "k1", "<n3.5.1>", 1),
		down(2*s, "n1", "k1", "<n3.5.1>", 1, "noconnection"),
		monitor(3*s, "n1", "k1", "<n2.7.1>", 2), // still the key's process: no DOWN due
		monitor(1*s, "n2", "k1", "<n3.5.1>", 1), // same ref on another node: another monitor
		down(2*s, "n2", "k1", "<n3.5.1>", 1, "noconnection"),
		down(2*s, "n2", "k1", "<n3.5.1>", 1, "noconnection"), // flagged: twice
		monitor(1*s, "n1", "k2", "<n4.1.1>", 3),              // flagged: gone without a DOWN
		monitor(1*s, "n1", "k3", "<n4.2.1>", 4),              // k3 has no final whereis
		monitor(1*s, "n1", "k4", "<n5.3.1>", 5),              // a duplicate still alive at the end: no DOWN due
		final(history.OpFinalWhereis, "k1", "<n2.7.1>"),
		final(history.OpFinalWhereis, "k2", "<n1.9.1>"),
		final(history.OpFinalWhereis, "k4", "<n2.4.1>"),
	}
	marks := []history.Mark{
		{T: 1 * s, Type: history.MarkHosted, PIDs: map[string][]string{"kv/k2": {"<n4.1.1>"}}}, // not the last
		{T: 9 * s, Type: history.MarkHosted, PIDs: map[string][]string{"kv/k4": {"<n5.3.1>", "<n2.4.1>"}}},
	}
	d := CheckDowns(ops, marks)
	if d.Monitors != 6 || d.Downs != 3 || len(d.Duplicated) != 1 || len(d.Missing) != 1 || d.Missing[0].Key != "k2" ||
		d.Unverified != 1 || d.Reasons["noconnection"] != 3 {
		t.Fatalf("%+v", d)
	}
}

func hosted(t int64, copies map[string][]string, nodes ...string) history.Mark {
	return history.Mark{T: t, Type: history.MarkHosted, Copies: copies, Nodes: nodes}
}

func TestDuplicates(t *testing.T) {
	one := map[string][]string{"kv/k1": {"n1"}, "kv/k2": {"n2"}}
	two := map[string][]string{"kv/k1": {"n1", "n3"}, "kv/k2": {"n2"}}
	handoff := map[string][]string{"kv/k1": {"n1:moving", "n3:importing"}, "kv/k2": {"n2", "n4", "n1:backup"}}
	marks := []history.Mark{
		hosted(1*s, one), hosted(2*s, two), hosted(3*s, two), hosted(4*s, one), // k1 twice, inside the window
		hosted(5*s, handoff),                                                   // k2 twice in one snapshot only: ignored
		hosted(6*s, one), hosted(7*s, two), hosted(8*s, two), hosted(9*s, two), // k1 twice outside: flagged
	}
	stuck := map[string][]string{"kv/k1": {"n1:moving", "n3:moving"}, "kv/k2": {"n2", "n4:backup"}}
	dups := Duplicates(append(marks, hosted(9*s+s/2, one), hosted(10*s, stuck), hosted(11*s, stuck)), []Window{{From: 2 * s, To: 5 * s}})
	if len(dups) != 3 || dups[2].From != 10*s || !dups[0].Allowed || dups[1].Allowed || dups[1].From != 7*s || dups[1].To != 9*s ||
		dups[1].Key != "kv/k1" || len(dups[1].Nodes) != 2 {
		t.Fatalf("%+v", dups)
	}
}

func TestSettled(t *testing.T) {
	keys, live := []string{"kv/k1", "kv/k2"}, []string{"n1", "n2"}
	ok1 := map[string][]string{"kv/k1": {"n1", "n2:backup"}, "kv/k2": {"n2:importing", "n1:moving"}}
	dup := map[string][]string{"kv/k1": {"n1", "n2"}, "kv/k2": {"n2"}}
	missing := map[string][]string{"kv/k1": {"n1"}, "kv/k2": {"n1:backup"}}            // k2: a backup only
	stuck := map[string][]string{"kv/k1": {"n1"}, "kv/k2": {"n1:moving", "n2:moving"}} // two frozen copies
	marks := []history.Mark{
		hosted(1*s, ok1, "n1", "n2"), hosted(2*s, dup, "n1", "n2"), hosted(3*s, ok1, "n1"), // n2 did not answer
		hosted(4*s, missing, "n1", "n2"), hosted(4*s+1, stuck, "n1", "n2"), hosted(5*s, ok1, "n1", "n2"), hosted(6*s, ok1, "n1", "n2"),
	}
	if at, ok := Settled(marks, 0, keys, live); !ok || at != 5*s {
		t.Fatalf("settled at %v %v", at, ok)
	}
	if _, ok := Settled(append(marks, hosted(7*s, dup, "n1", "n2")), 0, keys, live); ok {
		t.Fatal("a duplicate in the last snapshot: not settled")
	}
}

func TestReownTimes(t *testing.T) {
	ops := []history.Op{
		op(1*s, "n1", history.OpWrite, "k1", true),
		op(11*s, "n1", history.OpWrite, "k1", false),
		op(10*s+1, "n1", history.OpWrite, "k9", true), // hangs until 15 s (below), then served
		op(16*s, "n1", history.OpWrite, "k9", true),
		op(12*s, "n1", history.OpRead, "k1", false),
		op(12*s+1, "n1", history.OpWrite, "k1", true), // started before the last failure ended: not yet served
		op(13*s, "n1", history.OpIncr, "k1", true),    // first success after the last failure
		op(10*s+5, "n1", history.OpWrite, "k2", true), // never interrupted: served at once
		op(11*s, "n1", history.OpWrite, "k3", false),  // never served again
		op(11*s, "n9", history.OpWrite, "k4", false),  // a node out of scope
		op(11*s, "n1", history.OpSend, "k5", false),   // sends do not count
	}
	ops[2].End = 15 * s
	r := ReownTimes(ops, Scope{Nodes: []string{"n1"}, Window: Window{From: 10 * s, To: Forever}})
	want := 3*s + 10*int64(time.Millisecond)
	if r.Keys != 4 || r.Interrupted != 2 || r.Times["k1"] != want || r.Times["k2"] != 5+10*int64(time.Millisecond) ||
		r.Times["k9"] != 5*s || len(r.Never) != 1 || r.Never[0] != "k3" || r.Max != 5*s {
		t.Fatalf("%+v", r)
	}
	total, failed, codes := Errors(ops, Scope{Nodes: []string{"n1"}, Keys: []string{"k1", "k5"}, Window: Window{10 * s, Forever}})
	if total != 5 || failed != 3 || codes[history.CodeNoConnection] != 3 {
		t.Fatalf("errors %d %d %v", total, failed, codes)
	}
}

func TestServedTwoOwners(t *testing.T) {
	ops := []history.Op{
		op(11*s, "n1", history.OpWrite, "k1", true), // minority side
		op(11*s, "n3", history.OpWrite, "k1", true), // majority side: two owners of k1
		op(11*s, "n3", history.OpWrite, "k2", true),
		op(11*s, "n1", history.OpWrite, "k2", false), // refused: not served
		op(11*s, "n1", history.OpRead, "k3", true),   // a read is not an acknowledged write
		op(11*s, "n4", history.OpWrite, "k3", true),
		op(31*s, "n1", history.OpWrite, "k2", true), // after the window
	}
	sides := [][]string{{"n1", "n2"}, {"n3", "n4", "n5"}}
	per, both := Served(ops, sides, Window{From: 10 * s, To: 30 * s})
	if len(both) != 1 || both[0] != "k1" || len(per[0]) != 1 || len(per[1]) != 3 {
		t.Fatalf("%v %v", per, both)
	}
	last, n := LastOK(ops, Scope{Nodes: sides[0], Window: Window{From: 10 * s, To: 30 * s}})
	if n != 2 || last != 11*s+10*int64(time.Millisecond) {
		t.Fatalf("last ok %d %d", last, n)
	}
}

func TestDeclared(t *testing.T) {
	ev := op(2*s, "n1", history.OpWatch, "", true)
	ev.Field, ev.Value = "nodedown", "n3"
	up := ev
	up.Field = "nodeup"
	marks := []history.Mark{
		{T: 2 * s, Type: history.MarkView, Nodes: []string{"n1"}, Members: []string{"n1", "n2", "n3"}},
		{T: 3 * s, Type: history.MarkView, Nodes: []string{"n2"}, Members: []string{"n1", "n2"}},  // lacks n3
		{T: 3 * s, Type: history.MarkView, Nodes: []string{"n3"}, Members: []string{"n3"}},        // n3's own
		{T: 30 * s, Type: history.MarkView, Nodes: []string{"n2"}, Members: []string{"n1", "n2"}}, // outside
	}
	events, views := Declared([]history.Op{ev, up}, marks, "n3", Window{From: 1 * s, To: 10 * s})
	if len(events) != 1 || len(views) != 1 || views[0].Nodes[0] != "n2" {
		t.Fatalf("%v %v", events, views)
	}
}

func TestPercentileAndWindow(t *testing.T) {
	if p := percentile([]int64{5, 1, 3, 2, 4}, 50); p != 3 {
		t.Fatalf("p50 %d", p)
	}
	if percentile(nil, 50) != 0 || percentile([]int64{7}, 100) != 7 {
		t.Fatal("edges")
	}
	if w := (Window{From: 1, To: 3}); !w.Contains(1) || w.Contains(3) {
		t.Fatal("window bounds")
	}
}

func TestDetection(t *testing.T) {
	ev := func(t0 int64, node, typ, member string) history.Op {
		o := op(t0, node, history.OpWatch, "", true)
		o.Field, o.Value = typ, member
		return o
	}
	ops := []history.Op{
		ev(1*s, "n1", "nodedown", "n3"), // before the fault
		ev(11*s, "n1", "nodedown", "n3"),
		ev(12*s, "n2", "nodeup", "n3"),
		ev(13*s, "n2", "nodedown", "n3"),
		ev(14*s, "n2", "nodedown", "n3"),
	}
	if at, ok := Detection(ops, "n3", []string{"n1", "n2"}, 10*s); !ok || at != 13*s {
		t.Fatalf("%d %v", at, ok)
	}
	if _, ok := Detection(ops, "n3", []string{"n1", "n4"}, 10*s); ok {
		t.Fatal("n4 never reported it")
	}
}
