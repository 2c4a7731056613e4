package placement

import (
	"errors"
	"fmt"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/transport"
)

// Admin rpc results travel as an adminReply encoded with the node's codec:
// the rpc itself always succeeds (so that the node layer does not flatten
// the error to node.ErrHandler text), and a failure of the operation is
// described by wireError: the codes of every sentinel the error matched,
// its text, and for ErrNotOwner the owner named.
type adminReply[T any] struct {
	Err    *wireError `json:"err,omitempty"`
	Result T          `json:"result"`
}

// wireError is an error as it crosses the wire in an admin reply.
type wireError struct {
	Codes []uint16 `json:"codes"`
	Text  string   `json:"text"`
	Owner string   `json:"owner,omitempty"` // codeNotOwner: the owner the answering node believes in
}

// Admin error codes: the sentinels an admin reply can carry.
// ONLY APPEND TO THIS LIST: the values travel on the wire.
const (
	codeNotOwner     uint16 = 1
	codeNoQuorum     uint16 = 2
	codeNoMembers    uint16 = 3
	codeUnknownKind  uint16 = 4
	codeBusy         uint16 = 5
	codeNoProcess    uint16 = 6
	codeStart        uint16 = 7
	codeShutdown     uint16 = 8
	codeBadRequest   uint16 = 9
	codeBadKey       uint16 = 10
	codeDrain        uint16 = 11
	codeBadConfig    uint16 = 12
	codeNodeNoProc   uint16 = 20
	codeNodeNoConn   uint16 = 21
	codeNodeTimeout  uint16 = 22
	codeNodeMailbox  uint16 = 23
	codeNodeHandler  uint16 = 24
	codeNodeCallSelf uint16 = 25
	codeNodeKind     uint16 = 26
	codeNodeRPC      uint16 = 27
	codeNodeInit     uint16 = 28
	codeNodeBadArg   uint16 = 29
	codeNodeShutdown uint16 = 30
	codeNodeBusy     uint16 = 31
	codeNodeName     uint16 = 32
	codeNodeTooLarge uint16 = 33
	codeAuth         uint16 = 40
	codeUnknownNode  uint16 = 41
	codeHeartbeat    uint16 = 42
	codeConnClosed   uint16 = 43
	codeFrameTooBig  uint16 = 44
)

// wireSentinels maps the codes to their sentinels (codeNotOwner is
// rebuilt as a *NotOwnerError with the owner instead).
var wireSentinels = [...]struct {
	code uint16
	err  error
}{
	{codeNotOwner, ErrNotOwner}, {codeNoQuorum, ErrNoQuorum}, {codeNoMembers, ErrNoMembers},
	{codeUnknownKind, ErrUnknownKind}, {codeBusy, ErrBusy}, {codeNoProcess, ErrNoProcess},
	{codeStart, ErrStart}, {codeShutdown, ErrShutdown}, {codeBadRequest, ErrBadRequest},
	{codeBadKey, ErrBadKey}, {codeDrain, ErrDrain}, {codeBadConfig, ErrBadConfig},
	{codeNodeNoProc, node.ErrNoProc}, {codeNodeNoConn, node.ErrNoConnection},
	{codeNodeTimeout, node.ErrTimeout}, {codeNodeMailbox, node.ErrMailboxFull},
	{codeNodeHandler, node.ErrHandler}, {codeNodeCallSelf, node.ErrCallSelf},
	{codeNodeKind, node.ErrUnknownKind}, {codeNodeRPC, node.ErrUnknownRPC},
	{codeNodeInit, node.ErrInit}, {codeNodeBadArg, node.ErrBadArg},
	{codeNodeShutdown, node.ErrShutdown}, {codeNodeBusy, node.ErrBusy},
	{codeNodeName, node.ErrNameTaken}, {codeNodeTooLarge, node.ErrTooLarge},
	{codeAuth, transport.ErrAuth}, {codeUnknownNode, transport.ErrUnknownNode},
	{codeHeartbeat, transport.ErrHeartbeatTimeout}, {codeConnClosed, transport.ErrConnClosed},
	{codeFrameTooBig, transport.ErrFrameTooLarge},
}

// toWire describes err for an admin reply (nil for nil).
func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Text: err.Error()}
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) {
			w.Codes = append(w.Codes, s.code)
		}
	}
	var no *NotOwnerError
	if errors.As(err, &no) {
		w.Owner = no.Owner
	}
	return w
}

// fromWire rebuilds the error of an admin reply from agent.
func fromWire(agent string, w *wireError) error {
	e := &RemoteError{Node: agent, Text: w.Text}
	for _, c := range w.Codes {
		if c == codeNotOwner {
			e.errs = append(e.errs, &NotOwnerError{Owner: w.Owner})
			continue
		}
		for _, s := range wireSentinels {
			if s.code == c {
				e.errs = append(e.errs, s.err)
			}
		}
	}
	if len(e.errs) == 0 { // a code this version does not know
		e.errs = append(e.errs, node.ErrHandler)
	}
	return e
}

// RemoteError is an error an agent returned to a Client: the text of the
// agent's error, and the sentinels it matched there, so that errors.Is
// (ErrNotOwner, ErrNoQuorum, node.ErrNoProc, node.ErrTimeout, ...) and
// errors.As (*NotOwnerError) work as they would on the agent itself.
type RemoteError struct {
	Node string // the agent that answered
	Text string // the agent's error text
	errs []error
}

// Error implements error.
func (e *RemoteError) Error() string { return fmt.Sprintf("%s (at %s)", e.Text, e.Node) }

// Unwrap returns the sentinels the error matched on the agent.
func (e *RemoteError) Unwrap() []error { return e.errs }

// encodeAdmin encodes an admin reply with the node's codec.
func encodeAdmin[T any](n *node.Node, v T, err error) ([]byte, error) {
	return node.Encode(n, adminReply[T]{Err: toWire(err), Result: v})
}

// decodeAdmin decodes an admin reply from agent into its result or error.
func decodeAdmin[T any](n *node.Node, agent string, b []byte) (T, error) {
	r, err := node.Decode[adminReply[T]](n, b)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%w: admin reply from %s: %w", ErrBadRequest, agent, err)
	}
	if r.Err != nil {
		return r.Result, fromWire(agent, r.Err)
	}
	return r.Result, nil
}
