package node

import "errors"

// Sentinel errors. Returned errors wrap these with %w (test with errors.Is).
// The ones a remote node can return (listed in docs/node.md with their reply
// status codes) keep their identity across the wire.
var (
	// ErrNoProc: the target process is dead, unknown, from an older
	// creation of its node, or the name is not registered.
	ErrNoProc = errors.New("node: no such process")
	// ErrNoConnection: the target's node could not be reached, or the
	// connection died while the request was outstanding.
	ErrNoConnection = errors.New("node: no connection")
	// ErrTooLarge: the message (or its reply) exceeds the frame limit of
	// the link it had to cross; the text names the size and the limit.
	// The message was not sent: retrying it cannot help. It also wraps
	// transport.ErrFrameTooLarge when the local transport refused it.
	ErrTooLarge = errors.New("node: message too large")
	// ErrTimeout: the caller's deadline passed before the reply arrived.
	ErrTimeout = errors.New("node: timeout")
	// ErrMailboxFull: the target's mailbox was full; the call was dropped.
	ErrMailboxFull = errors.New("node: mailbox full")
	// ErrHandler: the target's handler returned an error. Locally the
	// handler's own error is wrapped too; across the wire only its text is.
	ErrHandler = errors.New("node: handler error")
	// ErrCallSelf: a process called itself, which would deadlock.
	ErrCallSelf = errors.New("node: process called itself")
	// ErrUnknownKind: no process kind of that name is registered.
	ErrUnknownKind = errors.New("node: unknown process kind")
	// ErrUnknownRPC: no rpc function of that name is registered.
	ErrUnknownRPC = errors.New("node: unknown rpc function")
	// ErrInit: a process's Init (or ImportState) failed; nothing was started.
	ErrInit = errors.New("node: process init failed")
	// ErrNameTaken: the name is already registered to a process or service.
	ErrNameTaken = errors.New("node: name already registered")
	// ErrAlreadyRegistered: the process already has a registered name.
	ErrAlreadyRegistered = errors.New("node: process already registered")
	// ErrBadArg: an argument is invalid (empty name, non-local PID where a
	// local one is required, malformed request).
	ErrBadArg = errors.New("node: bad argument")
	// ErrShutdown: the node is shutting down or shut down.
	ErrShutdown = errors.New("node: shut down")
	// ErrBusy: the target refused the request for lack of capacity (too many
	// concurrent rpcs).
	ErrBusy = errors.New("node: busy")
	// ErrFrozen: the process is already frozen for a handoff.
	ErrFrozen = errors.New("node: process frozen")
	// ErrNotFrozen: Thaw or HandoffTo on a process that is not frozen.
	ErrNotFrozen = errors.New("node: process not frozen")
	// ErrClosed: the inbox is closed.
	ErrClosed = errors.New("node: inbox closed")
	// ErrBadConfig: the Config is invalid.
	ErrBadConfig = errors.New("node: bad config")
)
