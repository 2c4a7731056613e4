package global

import "errors"

// Sentinel errors. Every error this package returns wraps one of these (or a
// node or placement sentinel for a failure underneath: node.ErrNoConnection,
// node.ErrTimeout, placement.ErrNoQuorum, ...) with %w; test with errors.Is.
// Bad input is refused before anything is sent, and changes nothing.
var (
	// ErrBadName: a name or lock id is empty, longer than MaxNameLen bytes,
	// or not valid UTF-8.
	ErrBadName = errors.New("global: bad name")
	// ErrBadPID: the PID is zero, or names the node itself (ID 0) rather
	// than a process.
	ErrBadPID = errors.New("global: bad pid")
	// ErrUnknownNode: the PID belongs to a node that is neither this node,
	// a ring member of its view, nor connected.
	ErrUnknownNode = errors.New("global: pid of an unknown node")
	// ErrNotLocal: SetLock, DelLock or Trans was given a requester of
	// another node (a node speaks for its own processes, as in pg).
	ErrNotLocal = errors.New("global: process is not local")
	// ErrNoProc: the PID is not alive (RegisterName, SetLock), or a name is
	// not registered (SendName, CallName after re-resolving through the
	// authority). It also wraps node.ErrNoProc.
	ErrNoProc = errors.New("global: no such process")
	// ErrNameTaken: RegisterName found the name held by another live
	// process (:global's `no`); the error names the holder.
	ErrNameTaken = errors.New("global: name taken")
	// ErrNotRegistered: UnregisterName found no live registration.
	ErrNotRegistered = errors.New("global: name not registered")
	// ErrLockBusy: SetLock did not get the lock: it was held and the
	// request was not to wait (Timeout 0), or every retry found it held.
	// Trans returns it when it could not take the lock (:global's aborted).
	ErrLockBusy = errors.New("global: lock busy")
	// ErrLockTimeout: SetLock waited in the queue for Timeout without
	// getting the lock.
	ErrLockTimeout = errors.New("global: lock wait timed out")
	// ErrNotHeld: DelLock by a requester that does not hold the lock.
	ErrNotHeld = errors.New("global: lock not held by this requester")
	// ErrLockLost: a RemoteLock's session ended before Release (its agent
	// went away, or a heal found the lock held with a larger token).
	ErrLockLost = errors.New("global: lock lost")
	// ErrNotOwner: the authority answering was not the owner of the id in
	// its own view (views were changing) and the request kept finding a
	// non-owner until its deadline. Retried internally first.
	ErrNotOwner = errors.New("global: authority not owner")
	// ErrNotStarted: the Service has not been attached to a cluster (Start)
	// yet, or was closed.
	ErrNotStarted = errors.New("global: service not started")
	// ErrBadConfig: the Config is invalid.
	ErrBadConfig = errors.New("global: bad config")
	// ErrBadMessage: a message, request or reply does not decode (another
	// protocol version, or corruption); it is dropped and counted.
	ErrBadMessage = errors.New("global: bad message")
)
