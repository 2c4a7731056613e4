package bench

import (
	"context"
	"fmt"
	"os"
)

// RunTransportTraced runs RunTransport, writing its execution trace to
// the file tracePath unless tracePath is empty.
func RunTransportTraced(ctx context.Context, cfg TransportConfig, tracePath string) (TransportResult, error) {
	if tracePath == "" {
		return RunTransport(ctx, cfg)
	}
	f, err := os.Create(tracePath)
	if err != nil {
		return TransportResult{}, fmt.Errorf("--trace: %w", err)
	}
	cfg.Trace = f
	tr, err := RunTransport(ctx, cfg)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--trace: %w", cerr)
	}
	return tr, err
}

// Check rejects sizes RunTransport would replace by defaults, naming the
// flags of `placer bench transport`; errors wrap ErrBadConfig.
func (c TransportConfig) Check() error {
	for name, v := range map[string]int{"--msgs": c.Messages, "--calls": c.Calls, "--callers": c.Callers, "--payload": c.Payload, "--bulk-size": c.BulkSize} {
		if v <= 0 {
			return fmt.Errorf("%w: %s must be positive", ErrBadConfig, name)
		}
	}
	if c.BulkSize > 1<<20-256 || c.CallersDuration <= 0 || c.PacedBulkMBps <= 0 {
		return fmt.Errorf("%w: --bulk-size must be at most %d, --duration and --paced-bulk-mbps positive", ErrBadConfig, 1<<20-256)
	}
	if c.BulkWindow < 0 || c.FragmentSize < 0 {
		return fmt.Errorf("%w: --bulk-window and --fragment-size must not be negative", ErrBadConfig)
	}
	return nil
}
