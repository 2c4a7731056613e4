package membership

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

func TestFaultNetReachability(t *testing.T) {
	f := NewFaultNet(zerolog.Nop())
	a, b, c, d := "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"
	f.Partition([]string{a, b}, []string{c})
	cases := []struct {
		from, to string
		want     bool
	}{
		{a, b, true}, {a, c, false}, {c, a, false}, {b, c, false}, {a, d, true}, {c, d, true}, {a, a, true},
		{"[::ffff:127.0.0.1]:1", c, false}, // same address, other spelling
	}
	for _, tc := range cases {
		if got := f.Reachable(tc.from, tc.to); got != tc.want {
			t.Errorf("%s -> %s: %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	f.Isolate(d)
	if f.Reachable(a, d) || f.Reachable(d, "127.0.0.1:99") {
		t.Error("isolated node reachable")
	}
	f.Heal()
	if !f.Reachable(a, c) || !f.Reachable(a, d) {
		t.Error("heal left a cut")
	}
}

func TestFaultTransportDropsAndCuts(t *testing.T) {
	f := NewFaultNet(zerolog.Nop())
	ta, err := f.NewTransport("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Shutdown()
	tb, err := f.NewTransport("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Shutdown()
	if _, err := f.NewTransport("0.0.0.0", 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unspecified bind address: %v", err)
	}

	// Packets pass, then are dropped once partitioned.
	if _, err := ta.WriteTo([]byte("hello"), tb.Addr()); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-tb.PacketCh():
		if string(p.Buf) != "hello" || canonAddr(p.From.String()) != ta.Addr() {
			t.Fatalf("packet %q from %v", p.Buf, p.From)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("packet not delivered")
	}

	// A stream opened before the cut fails after it.
	conn, err := ta.DialAddressTimeout(memberlist.Address{Addr: tb.Addr()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	accepted := <-tb.StreamCh()
	defer accepted.Close()
	f.Partition([]string{ta.Addr()}, []string{tb.Addr()})
	if _, err := conn.Write([]byte("x")); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("write on a cut stream: %v", err)
	}
	if _, err := accepted.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isNetClosed(err) {
		t.Fatalf("peer of a cut stream reads %v, want EOF", err)
	}
	if _, err := ta.DialTimeout(tb.Addr(), time.Second); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("dial across the partition: %v", err)
	}
	if _, err := ta.WriteTo([]byte("lost"), tb.Addr()); err != nil {
		t.Fatalf("a dropped packet is not an error: %v", err)
	}
	if st := f.Stats(); st.DroppedPackets != 1 || st.RefusedDials != 1 || st.CutStreams != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func isNetClosed(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}
