package bench

import (
	"context"
	"errors"
	"testing"
)

// TestNegativeConfigRefused: a zero field means the default, any other
// value out of range is refused with ErrBadConfig (and ErrBadOptions, its
// former name, still matches) before anything runs.
func TestNegativeConfigRefused(t *testing.T) {
	ctx := context.Background()
	for name, run := range map[string]func() error{
		"transport messages": func() error { _, err := RunTransport(ctx, TransportConfig{Messages: -1}); return err },
		"transport window":   func() error { _, err := RunTransport(ctx, TransportConfig{BulkWindow: -1}); return err },
		"node calls":         func() error { _, err := RunNode(ctx, NodeConfig{Calls: -1}); return err },
		"cluster keys":       func() error { _, err := RunCluster(ctx, ClusterConfig{Keys: -1}); return err },
		"cluster phase":      func() error { _, err := RunCluster(ctx, ClusterConfig{Phases: []string{"join", "jion"}}); return err },
		"ring rounds":        func() error { _, err := RunRing(RingOptions{Rounds: -1}); return err },
	} {
		err := run()
		if !errors.Is(err, ErrBadConfig) || !errors.Is(err, ErrBadOptions) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
	if c := (TransportConfig{}).withDefaults(); c != DefaultTransportConfig() {
		t.Errorf("zero TransportConfig filled as %+v", c)
	}
	if c := (NodeConfig{}).withDefaults(); c != DefaultNodeConfig() {
		t.Errorf("zero NodeConfig filled as %+v", c)
	}
	if c := (ClusterConfig{}).withDefaults(); c.Nodes != 5 || c.Keys != 10_000 || c.Senders != 8 || c.Rate != 20_000 {
		t.Errorf("zero ClusterConfig filled as %+v", c)
	}
}
