package memnet

import "errors"

// Sentinel errors of the in-memory network. Errors that mirror the TCP
// transport's failures wrap the transport package's sentinels instead
// (transport.ErrNoConnection, transport.ErrAuth, ...), so node code tests
// them the same way on both transports.
var (
	// ErrNameInUse: another open endpoint on the network already has this
	// node name.
	ErrNameInUse = errors.New("memnet: node name in use")
	// ErrBadConfig: an EndpointConfig or Faults value is invalid.
	ErrBadConfig = errors.New("memnet: bad config")
)
