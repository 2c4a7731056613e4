package ring

import "errors"

// Sentinel errors. Every error returned by this package wraps one of these
// with %w; test with errors.Is.
var (
	// ErrBadName: a member name is empty or longer than MaxNameLen bytes.
	ErrBadName = errors.New("ring: bad member name")
	// ErrBadWeight: a weight is below 1 or above MaxWeight, or the strategy
	// does not support weights other than 1.
	ErrBadWeight = errors.New("ring: bad member weight")
	// ErrDuplicate: a member is added twice, or is already in the ring.
	ErrDuplicate = errors.New("ring: duplicate member")
	// ErrUnknownMember: a removed or re-weighted member is not in the ring.
	ErrUnknownMember = errors.New("ring: unknown member")
	// ErrBadConfig: a Config or BoundedConfig field is out of range.
	ErrBadConfig = errors.New("ring: bad config")
	// ErrTooLarge: the ring would hold more than MaxPoints virtual nodes.
	ErrTooLarge = errors.New("ring: too many virtual nodes")
	// ErrBadChange: a Change has an unknown Op.
	ErrBadChange = errors.New("ring: bad change")
	// ErrNilStrategy: a Holder update function returned a nil Strategy.
	ErrNilStrategy = errors.New("ring: nil strategy")
	// ErrNoRanges: Diff or Shares was given a strategy that does not map
	// contiguous hash ranges to owners (one implemented elsewhere).
	ErrNoRanges = errors.New("ring: strategy has no hash ranges")
)
