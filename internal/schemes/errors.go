package schemes

import "errors"

// Sentinel errors of this package (errors of package ring are returned as
// they are). Every error wraps one of them or a ring sentinel with %w.
var (
	// ErrNoRoom: buraksezer/consistent cannot place every partition under
	// its load bound (the library panics with "not enough room to
	// distribute partitions" in this state; Consistent returns this).
	ErrNoRoom = errors.New("schemes: not enough room to distribute partitions")
	// ErrPanic: a third-party library panicked; the panic value is in the
	// error text. Nothing is left half-built: the previous snapshot stays.
	ErrPanic = errors.New("schemes: recovered panic")
	// ErrNoShares: Shares was given a strategy it cannot measure.
	ErrNoShares = errors.New("schemes: no exact shares for this strategy")
)
