package membership

import "errors"

// Sentinel errors. Returned errors wrap these with %w; test with errors.Is.
var (
	// ErrBadConfig: a Config field is missing or out of range. The
	// wrapping error names the field.
	ErrBadConfig = errors.New("membership: bad config")
	// ErrInvalidConfig is the former name of ErrBadConfig (the same
	// error).
	//
	// Deprecated: use ErrBadConfig.
	ErrInvalidConfig = ErrBadConfig
	// ErrInvalidArgument: a method argument is out of range (a weight
	// below 1, a tag key reserved for placer, tags too large to gossip).
	ErrInvalidArgument = errors.New("membership: invalid argument")
	// ErrInvalidCookie: the cookie is shorter than MinCookieLen bytes.
	ErrInvalidCookie = errors.New("membership: invalid cookie")
	// ErrShutdown: the Membership is shut down or shutting down.
	ErrShutdown = errors.New("membership: shut down")
	// ErrStart: Serf or its memberlist could not be created (bind
	// failure, bad advertise address, snapshot file not writable).
	ErrStart = errors.New("membership: start failed")
	// ErrJoinFailed: no address of a join attempt could be contacted and
	// state-synced (unreachable, refused, or the peer uses another cookie).
	ErrJoinFailed = errors.New("membership: join failed")
	// ErrJoinExhausted: the background join retries configured by
	// RetryJoinMax were all used without contacting any node.
	ErrJoinExhausted = errors.New("membership: join retries exhausted")
	// ErrLeave: the graceful leave failed or did not finish before the
	// caller's context ended (it then goes on in the background, bounded
	// by the profile's broadcast timeout, and Shutdown waits for it).
	ErrLeave = errors.New("membership: leave failed")
	// ErrLeft: the local node has left; it cannot join or change its tags.
	ErrLeft = errors.New("membership: node has left")
	// ErrTagsUpdate: new tags were applied locally but their broadcast did
	// not go out before the profile's broadcast timeout; gossip will still
	// carry them eventually.
	ErrTagsUpdate = errors.New("membership: tag update not broadcast")
	// ErrUnknownMember: no member of that name is known.
	ErrUnknownMember = errors.New("membership: unknown member")
	// ErrPartitioned: a FaultTransport refused a dial because the FaultNet
	// separates the two addresses.
	ErrPartitioned = errors.New("membership: partitioned by FaultNet")
)
