package names

import "errors"

var (
	// ErrDir marks every names-directory problem.
	ErrDir = errors.New("names directory")
	// ErrInUse: a live process holds the node name. Also wraps ErrDir.
	ErrInUse = errors.New("name in use")
)
