package demo

import "errors"

// Demo errors.
var (
	// ErrOptions: Options that Validate refuses (the message names the
	// flag of `placer demo`).
	ErrOptions = errors.New("bad demo options")
	// ErrCheck: a figure the demo measured contradicts what placer
	// promises (a lost message, a second process for a key...).
	ErrCheck = errors.New("check failed")
	// ErrTimeout: the cluster did not reach an expected state in time.
	ErrTimeout = errors.New("timed out")
)
