package memnet

import (
	"context"
	"errors"
	"testing"

	"github.com/placerhq/placer/transport"
)

// TestErrorsClassifiable walks memnet's failure paths: each error wraps
// the sentinel the TCP transport would return for the same failure (or
// ErrBadConfig / ErrNameInUse, memnet's own).
func TestErrorsClassifiable(t *testing.T) {
	ctx := context.Background()
	n := New(DefaultConfig())
	a := listen(t, n, "a@mem", nil)
	listen(t, n, "b@mem", nil)
	msg := &transport.Message{Type: transport.FrameSend, Payload: []byte("x")}
	for _, c := range []struct {
		what string
		err  error
		want []error
	}{
		{"no cookie", func() error { _, err := n.Listen(EndpointConfig{Name: "c@mem"}, newRecorder()); return err }(), []error{ErrBadConfig}},
		{"nil handler", func() error {
			_, err := n.Listen(EndpointConfig{Name: "c@mem", Cookie: []byte("x")}, nil)
			return err
		}(), []error{ErrBadConfig}},
		{"bad name", func() error {
			_, err := n.Listen(EndpointConfig{Name: "c", Cookie: []byte("x")}, newRecorder())
			return err
		}(), []error{ErrBadConfig, transport.ErrBadName}},
		{"name in use", func() error {
			_, err := n.Listen(EndpointConfig{Name: "a@mem", Cookie: []byte("x")}, newRecorder())
			return err
		}(), []error{ErrNameInUse}},
		{"bad faults", n.SetFaults("a@mem", "b@mem", Faults{DropRate: 2}), []error{ErrBadConfig}},
		{"unknown node", a.ep.Send(ctx, "nobody@mem", msg), []error{transport.ErrNoConnection}},
		{"bad node name", a.ep.Send(ctx, "nohost", msg), []error{transport.ErrNoConnection, transport.ErrBadName}},
		{"self", a.ep.Connect(ctx, "a@mem"), []error{transport.ErrNoConnection}},
		{"cut link", func() error {
			n.Cut("a@mem", "b@mem")
			defer n.Restore("a@mem", "b@mem")
			return a.ep.Connect(ctx, "b@mem")
		}(), []error{transport.ErrNoConnection}},
		{"after close", func() error { _ = a.ep.Close(); return a.ep.Send(ctx, "b@mem", msg) }(), []error{transport.ErrShutdown}},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.what)
			continue
		}
		for _, w := range c.want {
			if !errors.Is(c.err, w) {
				t.Errorf("%s: %v does not wrap %v", c.what, c.err, w)
			}
		}
	}
}
