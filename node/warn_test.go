package node_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/logbuf"
	"github.com/placerhq/placer/internal/ratelog"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/nodetest"
)

// TestPanicWarningsRateLimited: a service that panics on every message
// writes a few warning lines, not one per message, and the lines (with
// the summary Shutdown writes) account for every panic.
func TestPanicWarningsRateLimited(t *testing.T) {
	logs := &logbuf.Buffer{}
	c := cluster(t, 1, nodetest.Options{Logger: zerolog.New(logs).Level(zerolog.WarnLevel)})
	n := c.Node(0)
	if err := n.RegisterService("fragile", node.ServiceFuncs{Cast: func(node.PID, []byte) { panic("on purpose") }}); err != nil {
		t.Fatal(err)
	}
	const casts = 50
	for range casts {
		if err := n.Send(node.Named{Name: "fragile"}, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	lines, total := ratelog.Tally(logs.String(), "service-panic:fragile")
	if lines == 0 || lines > casts/5 {
		t.Fatalf("%d warning lines for %d panics: want a few\n%s", lines, casts, logs.String())
	}
	if total != casts {
		t.Fatalf("the lines account for %d panics, want %d\n%s", total, casts, logs.String())
	}
}
