package history

import "golang.org/x/sys/unix"

// Now returns CLOCK_MONOTONIC in nanoseconds. Processes on one kernel read
// the same clock, so their records order against each other; it does not
// jump with the wall clock.
func Now() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("history: clock_gettime(CLOCK_MONOTONIC): " + err.Error()) // cannot fail on Linux
	}
	return ts.Nano()
}
