package transport

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"testing"
	"time"
)

// sentinels are every exported error of the package.
var sentinels = []error{
	ErrNoConnection, ErrQueueFull, ErrShutdown, ErrConnClosed, ErrHeartbeatTimeout, ErrAuth,
	ErrProtocol, ErrVersion, ErrFrameTooLarge, ErrBadName, ErrUnknownNode, ErrBadConfig, ErrListen,
}

// checkClassified fails unless err wraps every one of want and at least one
// exported sentinel (want may be empty: any will do).
func checkClassified(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: %v does not wrap %v", what, err, w)
		}
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Errorf("%s: %v wraps no exported sentinel", what, err)
}

// TestErrorsClassifiable walks the failure paths of the package's API and
// of PeerDown, checking that each error wraps the sentinel its docs name.
func TestErrorsClassifiable(t *testing.T) {
	t.Run("Listen", func(t *testing.T) {
		_, err := Listen(testConfig("a@127.0.0.1"), nil)
		checkClassified(t, "nil handler", err, ErrBadConfig)
		_, err = Listen(testConfig("nohost"), newRecorder())
		checkClassified(t, "bad name", err, ErrBadConfig, ErrBadName)
		held, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		defer held.Close()
		cfg := testConfig("a@127.0.0.1")
		cfg.ListenAddr = held.Addr().String()
		_, err = Listen(cfg, newRecorder())
		checkClassified(t, "busy port", err, ErrListen)
	})
	t.Run("TLSFromFiles", func(t *testing.T) {
		_, err := TLSFromFiles("missing.pem", "missing.key", "missing-ca.pem")
		checkClassified(t, "missing files", err, ErrBadConfig, fs.ErrNotExist)
	})
	t.Run("Send", func(t *testing.T) {
		a, b := startPair(t, nil)
		ctx := ctxT(t)
		msg := func() *Message { return &Message{Type: FrameSend, From: pid(a.ep.Name(), 1), Payload: []byte("x")} }
		checkClassified(t, "nil message", a.ep.Send(ctx, b.ep.Name(), nil), ErrProtocol)
		checkClassified(t, "handshake frame type", a.ep.Send(ctx, b.ep.Name(), &Message{Type: hsHello}), ErrProtocol)
		checkClassified(t, "unknown node", a.ep.Send(ctx, "nobody@127.0.0.1", msg()), ErrNoConnection, ErrUnknownNode)
		checkClassified(t, "bad name", a.ep.Send(ctx, "nohost", msg()), ErrNoConnection, ErrBadName)
		checkClassified(t, "self", a.ep.Send(ctx, a.ep.Name(), msg()), ErrNoConnection)
		big := msg()
		big.Payload = make([]byte, 2<<20)
		checkClassified(t, "too large", a.ep.Send(ctx, b.ep.Name(), big), ErrFrameTooLarge)
		long := msg()
		long.ToName = strings.Repeat("n", 1<<16)
		checkClassified(t, "long ToName", a.ep.Send(ctx, b.ep.Name(), long), ErrFrameTooLarge)
		if err := a.ep.Send(ctx, b.ep.Name(), msg()); err != nil {
			t.Fatalf("a good send: %v", err)
		}
	})
	t.Run("Connect", func(t *testing.T) {
		a := startNode(t, testConfig("a@127.0.0.1"))
		ctx := ctxT(t)
		dead, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		deadAddr := dead.Addr().String()
		_ = dead.Close()
		a.ep.SetAddr("gone@127.0.0.1", deadAddr)
		checkClassified(t, "nothing listening", a.ep.Connect(ctx, "gone@127.0.0.1"), ErrNoConnection)

		other := testConfig("c@127.0.0.1")
		other.Cookie = []byte("another cookie, another cluster!")
		c := startNode(t, other)
		a.ep.SetAddr(c.ep.Name(), c.ep.Addr())
		checkClassified(t, "wrong cookie", a.ep.Connect(ctx, c.ep.Name()), ErrNoConnection, ErrAuth)

		silent, lerr := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
		if lerr != nil {
			t.Fatal(lerr)
		}
		defer silent.Close()
		a.ep.SetAddr("silent@127.0.0.1", silent.Addr().String())
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		checkClassified(t, "ctx ends while connecting", a.ep.Connect(short, "silent@127.0.0.1"), ErrNoConnection, context.DeadlineExceeded)

		r := testConfig("r@127.0.0.1")
		r.Resolve = func(string) (string, error) { return "", errors.New("the directory is down") }
		rn := startNode(t, r)
		checkClassified(t, "Resolve fails", rn.ep.Connect(ctx, "x@127.0.0.1"), ErrNoConnection, ErrUnknownNode)
	})
	t.Run("PeerDown and Close", func(t *testing.T) {
		a, b := startPair(t, nil)
		if err := a.ep.Connect(ctxT(t), b.ep.Name()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "PeerUp on both sides", func() bool {
			return a.rec.count("up", b.ep.Name()) == 1 && b.rec.count("up", a.ep.Name()) == 1
		})
		_ = a.ep.Disconnect(b.ep.Name())
		waitFor(t, 5*time.Second, "PeerDown on both sides", func() bool {
			return a.rec.lastDown(b.ep.Name()) != nil && b.rec.lastDown(a.ep.Name()) != nil
		})
		checkClassified(t, "PeerDown after Disconnect", a.rec.lastDown(b.ep.Name()), ErrConnClosed)
		checkClassified(t, "the peer's PeerDown", b.rec.lastDown(a.ep.Name()), ErrConnClosed)
		_ = a.ep.Close()
		checkClassified(t, "Send after Close", a.ep.Send(ctxT(t), b.ep.Name(), &Message{Type: FrameSend}), ErrShutdown)
		checkClassified(t, "Connect after Close", a.ep.Connect(ctxT(t), b.ep.Name()), ErrShutdown)
	})
}

// TestInternalMarkersWrapSentinels: the package's internal error markers
// are never bare, so nothing that carries one is unclassifiable.
func TestInternalMarkersWrapSentinels(t *testing.T) {
	for name, err := range map[string]error{
		"errConnGone": errConnGone, "errEvicted": errEvicted, "errLostRace": errLostRace, "errDisconnected": errDisconnected,
		"errAborted": errAborted, "errUnanswered": errUnanswered, "errTruncated": errTruncated,
	} {
		checkClassified(t, name, err, ErrConnClosed)
	}
}
