package faults

import "errors"

var (
	// ErrUsage: bad flags or options (the command exits 2).
	ErrUsage = errors.New("faults: bad usage")
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
