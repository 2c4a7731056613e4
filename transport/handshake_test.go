package transport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpPair returns two ends of a loopback TCP connection with a deadline.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	for _, c := range []net.Conn{a, b} {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		t.Cleanup(func() { _ = c.Close() })
	}
	return a, b
}

func hsCfg(name string, cookie string) hsConfig {
	return rawHS(rawOpts{name: name, cookie: []byte(cookie), creation: 5})
}

type hsResult struct {
	peer hsPeer
	err  error
}

// runHandshake runs both roles over a loopback connection.
func runHandshake(t *testing.T, d, a hsConfig, dd dialDecisions, ad acceptDecisions) (dial, acc hsResult) {
	t.Helper()
	dc, ac := tcpPair(t)
	done := make(chan hsResult, 1)
	go func() {
		p, err := acceptHandshake(bufio.NewReader(ac), ac, &a, ad)
		_ = ac.Close() // unblocks a dialer waiting for an answer that will not come
		done <- hsResult{p, err}
	}()
	p, err := dialHandshake(bufio.NewReader(dc), dc, &d, a.name, dd)
	_ = dc.Close()
	return hsResult{p, err}, <-done
}

func okDial() dialDecisions {
	return dialDecisions{commit: func(hsPeer) error { return nil }, alive: func(hsPeer) (bool, error) { return true, nil }}
}

func okAccept(status uint8) acceptDecisions {
	return acceptDecisions{decide: func(hsPeer) (uint8, error) { return status, nil }, replace: func(hsPeer) error { return nil }}
}

func TestHandshakeSuccess(t *testing.T) {
	d, a := hsCfg("d@h", "secret"), hsCfg("a@h", "secret")
	d.hidden, d.creation, d.window = true, 11, 4096
	dial, acc := runHandshake(t, d, a, okDial(), okAccept(statusOK))
	if dial.err != nil || acc.err != nil {
		t.Fatalf("dial %v, accept %v", dial.err, acc.err)
	}
	want := hsPeer{name: "d@h", hidden: true, creation: 11, maxFrame: 1 << 20, window: 4096, version: 1}
	if acc.peer != want {
		t.Errorf("acceptor learned %+v, want %+v", acc.peer, want)
	}
	if dial.peer.name != "a@h" || dial.peer.hidden || dial.peer.creation != 5 || dial.peer.version != 1 {
		t.Errorf("dialer learned %+v", dial.peer)
	}
}

func TestHandshakeWrongCookie(t *testing.T) {
	decided := false
	ad := okAccept(statusOK)
	ad.decide = func(hsPeer) (uint8, error) { decided = true; return statusOK, nil }
	dial, acc := runHandshake(t, hsCfg("d@h", "one"), hsCfg("a@h", "two"), okDial(), ad)
	if !errors.Is(acc.err, ErrAuth) || !errors.Is(dial.err, ErrAuth) {
		t.Fatalf("dial %v, accept %v: want ErrAuth on both sides", dial.err, acc.err)
	}
	if !strings.Contains(dial.err.Error(), "rejected") {
		t.Errorf("dialer error %q does not say the peer rejected it", dial.err)
	}
	if decided {
		t.Error("acceptor decided on (registered) an unauthenticated dialer")
	}
}

// recorder captures what one side writes.
type recordingConn struct {
	net.Conn
	w bytes.Buffer
}

func (r *recordingConn) Write(b []byte) (int, error) {
	r.w.Write(b)
	return r.Conn.Write(b)
}

func TestHandshakeReplayFails(t *testing.T) {
	// Record a successful dialer's bytes...
	dc, ac := tcpPair(t)
	rec := &recordingConn{Conn: dc}
	d, a := hsCfg("d@h", "secret"), hsCfg("a@h", "secret")
	go func() { _, _ = acceptHandshake(bufio.NewReader(ac), ac, &a, okAccept(statusOK)) }()
	if _, err := dialHandshake(bufio.NewReader(dc), rec, &d, "a@h", okDial()); err != nil {
		t.Fatal(err)
	}
	// ...and replay them verbatim to a fresh acceptor session.
	rc, ac2 := tcpPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := acceptHandshake(bufio.NewReader(ac2), ac2, &a, okAccept(statusOK))
		done <- err
	}()
	if _, err := rc.Write(rec.w.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrAuth) {
		t.Fatalf("replayed handshake: %v, want ErrAuth", err)
	}
}

// fakeAcceptor answers a Hello with a Challenge built by mk and then an
// AuthAck whose proof is built by proofFn from the dialer's Auth.
func fakeAcceptor(t *testing.T, ac net.Conn, mk func(h hello) hello, proofFn func(auth []byte, helloBody, chBody []byte) []byte) {
	r := bufio.NewReader(ac)
	helloBody, err := expectHS(r, hsHello)
	if err != nil {
		return
	}
	h, _ := parseHello(helloBody)
	chBody := func() []byte { c := mk(h); return c.marshal() }()
	if writeHS(ac, hsChallenge, chBody) != nil {
		return
	}
	auth, err := expectHS(r, hsAuth)
	if err != nil {
		return
	}
	_ = writeHS(ac, hsAuthAck, append([]byte{statusOK}, proofFn(auth, helloBody, chBody)...))
}

func TestHandshakeReflectedProofFails(t *testing.T) {
	dc, ac := tcpPair(t)
	go fakeAcceptor(t, ac, func(h hello) hello {
		h.name, h.v1, h.v2 = "a@h", 1, 0
		h.nonce[0] ^= 1 // a fresh-looking nonce
		return h
	}, func(auth, _, _ []byte) []byte { return auth }) // echo the dialer's own proof
	d := hsCfg("d@h", "secret")
	_, err := dialHandshake(bufio.NewReader(dc), dc, &d, "a@h", okDial())
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("reflected proof: %v, want ErrAuth", err)
	}
}

func TestHandshakeReflectedNonceFails(t *testing.T) {
	dc, ac := tcpPair(t)
	go fakeAcceptor(t, ac, func(h hello) hello { h.name, h.v1, h.v2 = "a@h", 1, 0; return h },
		func(auth, _, _ []byte) []byte { return auth })
	d := hsCfg("d@h", "secret")
	if _, err := dialHandshake(bufio.NewReader(dc), dc, &d, "a@h", okDial()); !errors.Is(err, ErrAuth) {
		t.Fatalf("reflected nonce: %v, want ErrAuth", err)
	}
}

func TestHandshakeProofBindsRoleAndStatus(t *testing.T) {
	// The acceptor knows the cookie but signs the dialer's label, or a
	// different status: both must fail.
	for _, forge := range []func(h, c []byte) []byte{
		func(h, c []byte) []byte { return proof([]byte("secret"), labelDialer, h, c, []byte{statusOK}) },
		func(h, c []byte) []byte { return proof([]byte("secret"), labelAcceptor, h, c, []byte{statusNOK}) },
	} {
		dc, ac := tcpPair(t)
		go fakeAcceptor(t, ac, func(h hello) hello { h.name, h.v1, h.v2 = "a@h", 1, 0; h.nonce[0] ^= 1; return h },
			func(_, h, c []byte) []byte { return forge(h, c) })
		d := hsCfg("d@h", "secret")
		if _, err := dialHandshake(bufio.NewReader(dc), dc, &d, "a@h", okDial()); !errors.Is(err, ErrAuth) {
			t.Fatalf("forged acceptor proof: %v, want ErrAuth", err)
		}
	}
}

func TestHandshakeVersionMismatch(t *testing.T) {
	d := hsCfg("d@h", "secret")
	d.vmin, d.vmax = 2, 3
	dial, acc := runHandshake(t, d, hsCfg("a@h", "secret"), okDial(), okAccept(statusOK))
	for side, err := range map[string]error{"dialer": dial.err, "acceptor": acc.err} {
		if !errors.Is(err, ErrVersion) || !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want ErrVersion and ErrProtocol", side, err)
		}
	}
	// An acceptor that picks a version outside the dialer's range.
	dc, ac := tcpPair(t)
	go fakeAcceptor(t, ac, func(h hello) hello { h.name, h.v1, h.v2 = "a@h", 9, 0; h.nonce[0] ^= 1; return h },
		func(a, _, _ []byte) []byte { return a })
	d = hsCfg("d@h", "secret")
	if _, err := dialHandshake(bufio.NewReader(dc), dc, &d, "a@h", okDial()); !errors.Is(err, ErrVersion) {
		t.Fatalf("acceptor chose version 9: %v, want ErrVersion", err)
	}
}

func TestHandshakeWrongPeerName(t *testing.T) {
	d := hsCfg("d@h", "secret")
	dc, ac := tcpPair(t)
	a := hsCfg("other@h", "secret")
	go func() { _, _ = acceptHandshake(bufio.NewReader(ac), ac, &a, okAccept(statusOK)) }()
	_, err := dialHandshake(bufio.NewReader(dc), dc, &d, "a@h", okDial())
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "answered as other@h") {
		t.Fatalf("wrong name: %v", err)
	}
}

func TestHandshakeAcceptorRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want []error
	}{
		{"bad magic", frame(hsHello, append([]byte("XXXX"), make([]byte, 60)...)), []error{ErrProtocol}},
		{"claims our name", frame(hsHello, (&hello{v1: 1, v2: 1, maxFrame: 4096, window: 4096, name: "a@h"}).marshal()), []error{ErrProtocol}},
		{"bad name", frame(hsHello, (&hello{v1: 1, v2: 1, maxFrame: 4096, window: 4096, name: "no-at-sign"}).marshal()), []error{ErrProtocol, ErrBadName}},
		{"tiny frame limit", frame(hsHello, (&hello{v1: 1, v2: 1, maxFrame: 10, window: 4096, name: "d@h"}).marshal()), []error{ErrProtocol}},
		{"tiny window", frame(hsHello, (&hello{v1: 1, v2: 1, maxFrame: 4096, window: 10, name: "d@h"}).marshal()), []error{ErrProtocol}},
		{"oversize before auth", append([]byte{byte(hsHello)}, u32(preAuthMaxBody+1)...), []error{ErrProtocol, ErrFrameTooLarge}},
		{"data before auth", frame(FrameSend, []byte{0}), []error{ErrProtocol}},
		{"silent then closed", nil, []error{ErrConnClosed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := hsCfg("a@h", "secret")
			_, err := acceptHandshake(bufio.NewReader(bytes.NewReader(c.in)), io.Discard, &a, okAccept(statusOK))
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Fatalf("err %v, want %v", err, w)
				}
			}
		})
	}
}

func TestHandshakeStatuses(t *testing.T) {
	d, a := hsCfg("d@h", "secret"), hsCfg("a@h", "secret")
	// NOK: both sides learn the connection is not to be used.
	dial, acc := runHandshake(t, d, a, okDial(), okAccept(statusNOK))
	if !errors.Is(dial.err, errLostRace) || !errors.Is(acc.err, errLostRace) {
		t.Fatalf("NOK: dial %v, accept %v", dial.err, acc.err)
	}
	// ALIVE answered with abort.
	dd := okDial()
	dd.alive = func(hsPeer) (bool, error) { return false, nil }
	dial, acc = runHandshake(t, d, a, dd, okAccept(statusAlive))
	if !errors.Is(dial.err, errAborted) || !errors.Is(acc.err, errAborted) {
		t.Fatalf("ALIVE/abort: dial %v, accept %v", dial.err, acc.err)
	}
	// ALIVE answered with replace.
	replaced := false
	ad := okAccept(statusAlive)
	ad.replace = func(hsPeer) error { replaced = true; return nil }
	dial, acc = runHandshake(t, d, a, okDial(), ad)
	if dial.err != nil || acc.err != nil || !replaced {
		t.Fatalf("ALIVE/replace: dial %v, accept %v, replaced %v", dial.err, acc.err, replaced)
	}
}

func TestAgreeVersion(t *testing.T) {
	cases := []struct{ amin, amax, bmin, bmax, want uint8 }{
		{1, 1, 1, 1, 1}, {1, 3, 2, 5, 3}, {2, 5, 1, 3, 3}, {1, 1, 2, 3, 0}, {3, 4, 1, 2, 0}, {0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		if got := agreeVersion(c.amin, c.amax, c.bmin, c.bmax); got != c.want {
			t.Errorf("agreeVersion(%d..%d, %d..%d) = %d, want %d", c.amin, c.amax, c.bmin, c.bmax, got, c.want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a@b", "node_1.x-y@127.0.0.1", "n@host.example.com", "n@[::1]"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "@b", "a@", "a b@c", "a@b c", "a@b@c", "ä@b", "a@b\n", strings.Repeat("a", 250) + "@hosts"} {
		if err := ValidateName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidateName(%q) = %v, want ErrBadName", bad, err)
		}
	}
}
