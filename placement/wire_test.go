package placement

import (
	"errors"
	"reflect"
	"testing"

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
}

// FuzzDecodeRouteReq: the decoder never panics, and what it accepts
// survives an encode/decode round trip.
func FuzzDecodeRouteReq(f *testing.F) {
	// Seeds: a send, a call with a sender PID and the handoff flag.
	f.Add((&routeReq{op: opSend, kind: "k", key: "x", payload: []byte("p")}).encode())
	f.Add((&routeReq{op: opCall, flags: flagHandoff, hops: 1, kind: "k", key: "x",
		from: node.PID{Node: "n@h", ID: 1, Creation: 1}}).encode())
	f.Add([]byte{1, 1, 0, 0})
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

// FuzzDecodeHandoffMsg: the decoder never panics.
func FuzzDecodeHandoffMsg(f *testing.F) {
	f.Add((&handoffMsg{op: hoAccept, exported: true, kind: "k", key: "x", state: []byte("s")}).encode())
	f.Add((&handoffMsg{op: hoPull, kind: "k", key: "x"}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeHandoffMsg(b)
		if err == nil && (m.op < hoAccept || m.op > hoView) {
			t.Fatalf("accepted op %d", m.op)
		}
	})
}
