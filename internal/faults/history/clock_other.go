//go:build !linux

package history

import "time"

// Now returns the wall clock in nanoseconds outside Linux, where the
// harness does not run (on Linux: CLOCK_MONOTONIC, comparable across
// processes and immune to clock steps).
func Now() int64 { return time.Now().UnixNano() }
