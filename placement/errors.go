package placement

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of these (or
// a node sentinel, for failures of the process itself) with %w; test with
// errors.Is. They keep their identity across the wire: routed replies carry
// a placement status code (see docs/placement.md), not error text.
var (
	// ErrBadConfig: a Config field is missing or out of range.
	ErrBadConfig = errors.New("placement: bad config")
	// ErrNotOwner: the node that got the request does not own the key in
	// its view and could not forward it further (Config.MaxHops). The
	// error is a *NotOwnerError naming the owner that node believes in.
	ErrNotOwner = errors.New("placement: not the owner")
	// ErrNoQuorum: quorum mode is on and this side of the cluster holds no
	// strict majority of the last full membership (or has not joined yet).
	ErrNoQuorum = errors.New("placement: no quorum")
	// ErrNoMembers: the view has no ring member (every node is draining or
	// gone), so no key has an owner.
	ErrNoMembers = errors.New("placement: no ring members")
	// ErrUnknownKind: the kind is not a keyed process kind of this cluster
	// (Config.Kinds).
	ErrUnknownKind = errors.New("placement: unknown keyed kind")
	// ErrBusy: the key is in transition (starting, moving) and its buffer
	// of waiting requests is full (Config.BufferSize).
	ErrBusy = errors.New("placement: key busy")
	// ErrNoProcess: Whereis found no process for the key on its owner.
	ErrNoProcess = errors.New("placement: no process for key")
	// ErrStart: the process for the key could not be started on its owner
	// (its Init or ImportState failed); the text says why.
	ErrStart = errors.New("placement: process start failed")
	// ErrShutdown: the cluster node is shutting down or shut down.
	ErrShutdown = errors.New("placement: shut down")
	// ErrBadRequest: a routed request or handoff message could not be
	// decoded (a peer speaking another protocol version, or corruption).
	ErrBadRequest = errors.New("placement: bad request")
	// ErrBadKey: a kind or key is empty, longer than MaxKeyLen, or not
	// valid UTF-8 (see docs/placement.md, "Keys").
	ErrBadKey = errors.New("placement: bad kind or key")
	// ErrDrain: Leave could not hand every key off before its deadline;
	// the error says how many keys were still hosted.
	ErrDrain = errors.New("placement: drain incomplete")
	// ErrStateTooLarge: a replicated key's exported state does not fit in
	// one frame to its backups (transport MaxFrameSize, default 1 MiB).
	// The write that made it so fails with it (the call's effect stays on
	// the primary; a send's is logged); it also wraps node.ErrTooLarge.
	ErrStateTooLarge = errors.New("placement: state too large to replicate")
)

// NotOwnerError is the error of a routed request that reached a node which
// does not own the key and could not forward it (hops exhausted). Owner is
// the node that node believes owns the key ("" if its view is empty).
// It matches ErrNotOwner with errors.Is.
type NotOwnerError struct {
	Owner string
}

// Error implements error.
func (e *NotOwnerError) Error() string {
	return fmt.Sprintf("%v: owner is %q", ErrNotOwner, e.Owner)
}

// Is makes errors.Is(err, ErrNotOwner) true.
func (e *NotOwnerError) Is(target error) bool { return target == ErrNotOwner }
