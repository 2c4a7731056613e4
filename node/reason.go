package node

import (
	"errors"
	"fmt"
	"strings"

	"github.com/placerhq/placer/transport"
)

// ReasonKind classifies why a process exited. The numeric values travel in
// DOWN and EXIT frames (Message.Status): ONLY APPEND TO THIS LIST.
type ReasonKind uint8

const (
	// Normal: the process finished (Proc.Exit with Normal, or an inbox
	// closed). Linked processes ignore it.
	Normal ReasonKind = 0
	// Shutdown: the node is shutting down (or Proc.Exit with Shutdown).
	Shutdown ReasonKind = 1
	// Killed: the process was killed (Node.Exit with Killed); it could not
	// trap it and Terminate was not called.
	Killed ReasonKind = 2
	// Error: the process failed; Reason.Err holds the error text (a handler
	// error passed to Proc.Exit, a panic, a failed Init).
	Error ReasonKind = 3
	// NoProc: the process did not exist when the monitor or link was set up.
	NoProc ReasonKind = 4
	// NoConnection: the process's node went away or the link to it was cut.
	NoConnection ReasonKind = 5
	// Handoff: the process moved; Reason.NewPID is where it lives now.
	// Links treat it like Normal.
	Handoff ReasonKind = 6
)

// String returns the Erlang-style name of k ("normal", "noproc", ...).
func (k ReasonKind) String() string {
	switch k {
	case Normal:
		return "normal"
	case Shutdown:
		return "shutdown"
	case Killed:
		return "killed"
	case Error:
		return "error"
	case NoProc:
		return "noproc"
	case NoConnection:
		return "noconnection"
	case Handoff:
		return "handoff"
	}
	return fmt.Sprintf("reason(%d)", uint8(k))
}

// Reason is why a process exited, as carried by Down and Exit messages.
type Reason struct {
	Kind   ReasonKind
	Err    string // error text for Kind Error (and optional detail otherwise)
	NewPID PID    // for Kind Handoff: the process's new PID
}

// ErrorReason returns an Error reason carrying err's text.
func ErrorReason(err error) Reason {
	if err == nil {
		return Reason{Kind: Error}
	}
	return Reason{Kind: Error, Err: err.Error()}
}

// String formats r as its kind, plus the error text or new PID if any.
func (r Reason) String() string {
	switch {
	case r.Kind == Handoff:
		return "handoff " + r.NewPID.String()
	case r.Err != "":
		return r.Kind.String() + ": " + r.Err
	}
	return r.Kind.String()
}

// normalForLinks reports whether a linked, non-trapping process ignores an
// exit signal with this reason.
func (r Reason) normalForLinks() bool { return r.Kind == Normal || r.Kind == Handoff }

// wireReason fills a DOWN or EXIT frame's Status, Reason and Payload.
func wireReason(m *transport.Message, r Reason) {
	m.Status = uint8(r.Kind)
	m.Reason = r.Err
	if r.Kind == Handoff {
		m.Payload = appendPID(nil, r.NewPID)
	}
}

// reasonFromWire reads what wireReason wrote.
func reasonFromWire(m *transport.Message) Reason {
	r := Reason{Kind: ReasonKind(m.Status), Err: m.Reason}
	if r.Kind == Handoff {
		r.NewPID, _ = decodePID(m.Payload) // a bad pid leaves NewPID zero
	}
	return r
}

// Reply and spawn-reply status codes (Message.Status of FrameReply and
// FrameSpawnReply). ONLY APPEND TO THIS LIST.
const (
	stOK          uint8 = 0
	stNoProc      uint8 = 1
	stMailboxFull uint8 = 2
	stHandler     uint8 = 3
	stUnknownRPC  uint8 = 4
	stUnknownKind uint8 = 5
	stTimeout     uint8 = 6
	stShutdown    uint8 = 7
	stBadArg      uint8 = 8
	stNameTaken   uint8 = 9
	stBusy        uint8 = 10
	stInit        uint8 = 11
	stNoConn      uint8 = 12
	stTooLarge    uint8 = 13
)

// statusSentinel returns the sentinel a status code stands for (nil for
// stOK and for unknown codes).
func statusSentinel(st uint8) error {
	switch st {
	case stNoProc:
		return ErrNoProc
	case stMailboxFull:
		return ErrMailboxFull
	case stUnknownRPC:
		return ErrUnknownRPC
	case stUnknownKind:
		return ErrUnknownKind
	case stTimeout:
		return ErrTimeout
	case stShutdown:
		return ErrShutdown
	case stBadArg:
		return ErrBadArg
	case stNameTaken:
		return ErrNameTaken
	case stBusy:
		return ErrBusy
	case stInit:
		return ErrInit
	case stNoConn:
		return ErrNoConnection
	case stTooLarge:
		return ErrTooLarge
	}
	return nil
}

// statusOf encodes err as a status code and text for a reply frame: the
// first sentinel (in status-code order) that err wraps, else stHandler.
func statusOf(err error) (uint8, string) {
	if err == nil {
		return stOK, ""
	}
	for st := stNoProc; st <= stTooLarge; st++ {
		if s := statusSentinel(st); s != nil && errors.Is(err, s) {
			return st, err.Error()
		}
	}
	return stHandler, err.Error()
}

// errorOf decodes a reply's status and text back into an error that wraps
// the matching sentinel (ErrHandler for handler errors and unknown codes).
func errorOf(st uint8, text string) error {
	if st == stOK {
		return nil
	}
	s := statusSentinel(st)
	if s == nil {
		s = ErrHandler
	}
	return &remoteError{sentinel: s, text: text}
}

// remoteError is an error that came back from another node: its text as the
// remote wrote it, matching the sentinel its status code names.
type remoteError struct {
	sentinel error
	text     string
}

func (e *remoteError) Error() string {
	if e.text == "" {
		return e.sentinel.Error()
	}
	// A handler error that already crossed a hop carries the prefix.
	if e.sentinel == ErrHandler && !strings.HasPrefix(e.text, ErrHandler.Error()) {
		return e.sentinel.Error() + ": " + e.text
	}
	return e.text
}

func (e *remoteError) Unwrap() error { return e.sentinel }
