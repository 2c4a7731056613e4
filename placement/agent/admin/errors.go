package admin

import "errors"

var (
	// ErrBadConfig: NewHandler was given an invalid Config.
	ErrBadConfig = errors.New("admin: bad config")
	// ErrBadQuery: a malformed API query (answered with HTTP 400): a query
	// string that does not parse, a missing key, an n out of range.
	ErrBadQuery = errors.New("bad query")
)
