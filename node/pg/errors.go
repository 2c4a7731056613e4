package pg

import "errors"

// Sentinel errors. Returned errors wrap these with %w (test with errors.Is).
var (
	// ErrBadGroup: a group name is empty or longer than MaxNameLen bytes.
	ErrBadGroup = errors.New("pg: bad group name")
	// ErrNotLocal: Join or Leave was given a PID of another node (pg only
	// lets a node speak for its own processes).
	ErrNotLocal = errors.New("pg: process is not local")
	// ErrNoProc: Join was given a PID of a process that is not alive (it
	// also wraps node.ErrNoProc).
	ErrNoProc = errors.New("pg: no such process")
	// ErrNotJoined: Leave was given only PIDs that are not members of the
	// group (pg's not_joined).
	ErrNotJoined = errors.New("pg: not joined")
	// ErrNoMembers: the group has no members (Closest).
	ErrNoMembers = errors.New("pg: group has no members")
	// ErrClosed: the scope was closed, or its node shut down.
	ErrClosed = errors.New("pg: scope closed")
	// ErrBadConfig: the Config is invalid.
	ErrBadConfig = errors.New("pg: bad config")
	// ErrBadMessage: a message between scopes does not decode.
	ErrBadMessage = errors.New("pg: bad message")
)
