package node

import "fmt"

// Behavior is the code of a process kind. Each process gets its own value
// from the kind's factory, and every method runs on the process's own
// goroutine, one at a time, so a behaviour needs no locks for its own state.
//
// A panic in any method is recovered: the process exits with an Error
// reason naming the panic.
type Behavior interface {
	// Init runs first, with the spawn arguments. An error aborts the spawn:
	// the spawner gets ErrInit and the process never runs.
	Init(p *Proc, args []byte) error
	// HandleMessage gets user messages and notifications (Down, Exit when
	// trapping exits, NodeUp, NodeDown), in mailbox order.
	HandleMessage(p *Proc, m Msg)
	// HandleCall answers a call. The returned bytes (or error) are the reply,
	// unless the handler took p.DeferReply(), in which case the return values
	// are ignored and the Reply answers later.
	HandleCall(p *Proc, from PID, req []byte) ([]byte, error)
	// Terminate runs last, with the exit reason, unless the process was
	// killed (reason Killed).
	Terminate(p *Proc, reason Reason)
}

// KindFactory makes the behaviour value for a new process of a kind.
type KindFactory func() Behavior

// StateExporter is implemented by kinds whose state can move to another
// node: Node.Freeze calls ExportState on the process's goroutine.
type StateExporter interface {
	ExportState(p *Proc) ([]byte, error)
}

// StateImporter is implemented by kinds that can start from exported state:
// a spawn with SpawnOpts.HasState calls Init, then ImportState.
type StateImporter interface {
	ImportState(p *Proc, state []byte) error
}

// Base gives a behaviour no-op defaults to embed: Init and Terminate do
// nothing, messages are ignored, calls fail with ErrBadArg.
type Base struct{}

// Init does nothing.
func (Base) Init(*Proc, []byte) error { return nil }

// HandleMessage ignores m.
func (Base) HandleMessage(*Proc, Msg) {}

// HandleCall refuses the call.
func (Base) HandleCall(*Proc, PID, []byte) ([]byte, error) {
	return nil, fmt.Errorf("%w: this kind takes no calls", ErrBadArg)
}

// Terminate does nothing.
func (Base) Terminate(*Proc, Reason) {}
