package faults

import (
	"errors"
	"fmt"

	"github.com/placerhq/placer/bench"
)

var (
	// ErrUsage: bad flags or options. It wraps bench.ErrBadConfig, so that
	// the placer command exits 2 for it as for the other benchmarks.
	ErrUsage = fmt.Errorf("faults: bad usage (%w)", bench.ErrBadConfig)
	// ErrSetup: the harness could not build its network or start its
	// processes (not root, no ip or iptables, a binary that does not run).
	ErrSetup = errors.New("faults: setup failed")
	// ErrFault: a fault could not be injected or healed.
	ErrFault = errors.New("faults: fault injection failed")
	// ErrTimeout: the cluster did not reach a state the scenario waits for
	// (converged views, settled keys) in time.
	ErrTimeout = errors.New("faults: timed out")
	// ErrBounds: the run finished and at least one bound failed.
	ErrBounds = errors.New("faults: bounds failed")
)
