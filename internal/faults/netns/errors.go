package netns

import "errors"

var (
	// ErrUnsupported: no network namespaces here (not Linux, not root, or
	// no `ip`).
	ErrUnsupported = errors.New("netns: unsupported")
	// ErrCommand: an ip or iptables command failed (the error has its
	// output).
	ErrCommand = errors.New("netns: command failed")
	// ErrBadNode: a node index out of range.
	ErrBadNode = errors.New("netns: no such node")
)
