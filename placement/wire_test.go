package placement

import (
	"errors"
	"flag"
	"fmt"
	"reflect"
	"testing"

	"github.com/placerhq/placer/internal/fuzzseed"
	"github.com/placerhq/placer/node"
)

func TestRouteReqRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range []routeReq{
		{op: opSend, kind: "k", key: "x", payload: []byte("hello")},
		{op: opCall, flags: flagHandoff, hops: 2, epoch: 7, checksum: 1 << 60, kind: "cart", key: "user-42",
			from: node.PID{Node: "n1@h", ID: 9, Creation: 3}, payload: []byte{0, 1, 2}},
		{op: opWhereis, kind: "k", key: "y"},
	} {
		got, err := decodeRouteReq(r.encode())
		if err != nil {
			t.Fatal(err)
		}
		if !r.from.IsZero() {
			r.flags |= flagFrom
		}
		if len(r.payload) == 0 {
			r.payload = got.payload // nil vs empty
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip: %+v, want %+v", got, r)
		}
	}
}

func TestHandoffMsgRoundTrip(t *testing.T) {
	t.Parallel()
	m := handoffMsg{op: hoAccept, exported: true, checksum: 42, kind: "k", key: "x", state: []byte("state")}
	got, err := decodeHandoffMsg(m.encode())
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	v, err := decodeHandoffMsg((&handoffMsg{op: hoView}).encode())
	if err != nil || v.op != hoView || v.kind != "" {
		t.Fatalf("view probe: %+v %v", v, err)
	}
}

func TestStatusErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ err, want error }{
		{ErrNoQuorum, ErrNoQuorum}, {ErrBusy, ErrBusy}, {ErrUnknownKind, ErrUnknownKind},
		{ErrShutdown, ErrShutdown}, {ErrNoProcess, ErrNoProcess}, {ErrNoMembers, ErrNoMembers},
		{&NotOwnerError{Owner: "n2@h"}, ErrNotOwner},
		{errors.Join(ErrStart, errors.New("init failed")), ErrStart},
		{errors.New("other"), ErrBadRequest},
	} {
		st, body := statusOf(c.err)
		if back := routeError(st, body); !errors.Is(back, c.want) {
			t.Fatalf("%v -> %d -> %v, want %v", c.err, st, back, c.want)
		}
	}
	var no *NotOwnerError
	if !errors.As(routeError(stNotOwner, []byte("n3@h")), &no) || no.Owner != "n3@h" {
		t.Fatalf("owner lost: %v", no)
	}
	// ErrBusy keeps its detail, once, also from a process's handler error.
	const want = "placement: key busy: replication of kv k: [n3] did not store it"
	for _, err := range []error{
		fmt.Errorf("%w: replication of kv k: [n3] did not store it", ErrBusy),
		fmt.Errorf("%w: %w", node.ErrHandler, fmt.Errorf("%w: replication of kv k: [n3] did not store it", ErrBusy)),
	} {
		if back := routeError(statusOf(err)); !errors.Is(back, ErrBusy) || back.Error() != want {
			t.Fatalf("%v came back as %q, want %q", err, back, want)
		}
	}
	if back := routeError(statusOf(ErrBusy)); back != ErrBusy {
		t.Fatalf("bare ErrBusy came back as %v", back)
	}
}

// routeSeeds and handoffSeeds are the fuzz seeds, kept as commented files
// in testdata/fuzz/<target> (go test ./placement -run TestFuzzSeedFiles
// -update-seeds rewrites them from these lists).
func routeSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-send", Comment: "a routed send with a payload, no sender PID",
			Data: (&routeReq{op: opSend, kind: "k", key: "x", payload: []byte("p")}).encode()},
		{Name: "01-call-forwarded", Comment: "a call with a sender PID, the handoff flag, one hop, an epoch and a checksum",
			Data: (&routeReq{op: opCall, flags: flagHandoff, hops: 1, epoch: 7, checksum: 1 << 60, kind: "k", key: "x",
				from: node.PID{Node: "n@h", ID: 1, Creation: 1}}).encode()},
		{Name: "02-ensure", Comment: "EnsureProcess: start the key's process if needed",
			Data: (&routeReq{op: opEnsure, kind: "cart", key: "user-42"}).encode()},
		{Name: "03-whereis", Comment: "Whereis: the PID if the process exists",
			Data: (&routeReq{op: opWhereis, kind: "cart", key: "user-42"}).encode()},
		{Name: "04-short", Comment: "a send cut off after the header", Data: []byte{1, 1, 0, 0}},
		{Name: "05-bad-op", Comment: "an op beyond the known ones", Data: []byte{9, 1, 0, 0, 0}},
	}
}

func handoffSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-accept", Comment: "accept: start this process from exported state",
			Data: (&handoffMsg{op: hoAccept, exported: true, kind: "k", key: "x", state: []byte("s")}).encode()},
		{Name: "01-finish", Comment: "finish: everything buffered was forwarded",
			Data: (&handoffMsg{op: hoFinish, kind: "k", key: "x"}).encode()},
		{Name: "02-pull", Comment: "pull: does the previous owner host this key?",
			Data: (&handoffMsg{op: hoPull, kind: "k", key: "x"}).encode()},
		{Name: "03-view", Comment: "view: a leaving node asks for a member's view checksum",
			Data: (&handoffMsg{op: hoView}).encode()},
		{Name: "04-bad-op", Comment: "op 0, never sent", Data: []byte{0}},
		{Name: "05-accept-replicated", Comment: "accept of a replicated copy: term 3, sequence number 17",
			Data: (&handoffMsg{op: hoAccept, exported: true, term: 3, seq: 17, kind: "kv", key: "user-42", state: []byte(`{"a":1}`)}).encode()},
		{Name: "06-version-1", Comment: "a version 1 (pre-replication) accept: refused", Data: []byte{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'k', 1, 'x'}},
	}
}

// replSeeds are FuzzDecodeReplMsg's seeds.
func replSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-update", Comment: "update: a primary's state for a backup (term 2, seq 9)",
			Data: (&replMsg{op: rpUpdate, exported: true, term: 2, seq: 9, kind: "counter", key: "k", state: []byte(`{"count":9}`)}).encode()},
		{Name: "01-fetch", Comment: "fetch: a new primary asks a backup for its copy",
			Data: (&replMsg{op: rpFetch, kind: "counter", key: "k"}).encode()},
		{Name: "02-drop", Comment: "drop: the key's process ended; forget copies up to term 4",
			Data: (&replMsg{op: rpDrop, term: 4, kind: "counter", key: "k"}).encode()},
		{Name: "03-bad-key", Comment: "an invalid UTF-8 key: refused",
			Data: (&replMsg{op: rpUpdate, kind: "counter", key: "\xff"}).encode()},
		{Name: "04-short", Comment: "a truncated header", Data: []byte{1, 1, 0, 0}},
	}
}

// FuzzDecodeReplMsg: the decoder never panics, refuses invalid kinds and
// keys, and what it accepts survives an encode/decode round trip. Seeds:
// testdata/fuzz/FuzzDecodeReplMsg.
func FuzzDecodeReplMsg(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeReplMsg")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeReplMsg(b)
		if err != nil {
			return
		}
		back, err := decodeReplMsg(m.encode())
		if err != nil || back.op != m.op || back.term != m.term || back.seq != m.seq || back.key != m.key ||
			back.kind != m.kind || string(back.state) != string(m.state) || back.exported != m.exported {
			t.Fatalf("round trip: %+v -> %+v %v", m, back, err)
		}
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the testdata/fuzz seed files from the seed lists")

const seedRoot = "../testdata/fuzz"

// TestFuzzSeedFiles checks that the seed files match the lists (or rewrites
// them with -update-seeds).
func TestFuzzSeedFiles(t *testing.T) {
	fuzzseed.Check(t, seedRoot, map[string][]fuzzseed.Seed{"FuzzDecodeRouteReq": routeSeeds(), "FuzzDecodeHandoffMsg": handoffSeeds(),
		"FuzzKey": keySeeds(), "FuzzDecodeReplMsg": replSeeds()},
		*updateSeeds, "go test ./placement -run TestFuzzSeedFiles -update-seeds")
}

// FuzzDecodeRouteReq: the decoder never panics, and what it accepts
// survives an encode/decode round trip. Seeds: testdata/fuzz/FuzzDecodeRouteReq.
func FuzzDecodeRouteReq(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeRouteReq")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRouteReq(b)
		if err != nil {
			return
		}
		back, err := decodeRouteReq(r.encode())
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if r.from.IsZero() {
			r.flags &^= flagFrom // a zero sender is not written out
		}
		if len(r.payload) == 0 {
			r.payload = back.payload
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("re-decoded %+v, want %+v", back, r)
		}
	})
}

// FuzzDecodeHandoffMsg: the decoder never panics and accepts only known
// ops. Seeds: testdata/fuzz/FuzzDecodeHandoffMsg.
func FuzzDecodeHandoffMsg(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeHandoffMsg")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeHandoffMsg(b)
		if err == nil && (m.op < hoAccept || m.op > hoView) {
			t.Fatalf("accepted op %d", m.op)
		}
	})
}
