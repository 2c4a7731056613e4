package node

import "sync/atomic"

// Msg is what a process's HandleMessage (or Inbox.Receive) gets: a user
// Message, or a notification (Down, Exit, NodeUp, NodeDown), or for an inbox
// a Call. The set is closed; switch on the concrete type.
type Msg interface{ isMsg() }

// Message is a user message.
type Message struct {
	From    PID // the sender; zero if it was sent from outside any process
	Payload []byte
}

// Ref identifies a monitor. Refs are unique per node incarnation.
type Ref uint64

// Down reports that a monitored process exited (or could not be monitored).
// Exactly one Down arrives per monitor, unless it was removed with
// Demonitor first.
type Down struct {
	Ref    Ref
	PID    PID    // the monitored process; zero if a name could not be resolved
	Name   string // the name it was monitored by, if any
	Node   string // its node
	Reason Reason
}

// Exit is an exit signal received by a process that traps exits (see
// Proc.TrapExit), or by an inbox: a linked process exited, or someone called
// Node.Exit on it.
type Exit struct {
	From   PID
	Reason Reason
}

// NodeUp reports that a connection to Node came up (Proc.MonitorNodes).
type NodeUp struct {
	Node   string
	Hidden bool
}

// NodeDown reports that the connection to Node went down (Proc.MonitorNode,
// Proc.MonitorNodes). Reason wraps the transport's reason (connection
// closed, heartbeat timeout, ...), or ErrNoConnection if a monitored node
// could not be reached at all.
type NodeDown struct {
	Node   string
	Hidden bool
	Reason error
}

// Call is a request received by an inbox (processes get calls in
// HandleCall instead). Answer it exactly once with Reply.
type Call struct {
	From    PID
	Payload []byte
	reply   ReplyFunc
}

// Reply answers the call; only the first reply counts.
func (c Call) Reply(resp []byte, err error) {
	if c.reply != nil {
		c.reply(resp, err)
	}
}

func (Message) isMsg()  {}
func (Down) isMsg()     {}
func (Exit) isMsg()     {}
func (NodeUp) isMsg()   {}
func (NodeDown) isMsg() {}
func (Call) isMsg()     {}

// ReplyFunc answers a call. It may be called from any goroutine; only the
// first call has an effect.
type ReplyFunc func(resp []byte, err error)

// once wraps f so that only its first call runs.
func once(f func(resp []byte, err error)) ReplyFunc {
	var done atomic.Bool
	return func(resp []byte, err error) {
		if done.CompareAndSwap(false, true) {
			f(resp, err)
		}
	}
}
