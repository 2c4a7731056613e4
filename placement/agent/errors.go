package agent

import "errors"

var (
	// ErrBadConfig: Start or Run was given an invalid Config.
	ErrBadConfig = errors.New("agent: bad config")
	// ErrInterrupted: a second SIGTERM/SIGINT closed the agent before its
	// graceful leave finished.
	ErrInterrupted = errors.New("second signal: closed without finishing the handoff")
	// ErrBadAddr: an agent address that is neither NAME@HOST:PORT, a node
	// name nor HOST:PORT (see Agents).
	ErrBadAddr = errors.New("bad agent address")
	// ErrNoAgent: no cluster agent matches (none in the names directory,
	// or the one named is hidden or unknown).
	ErrNoAgent = errors.New("no agent")
	// ErrJoin: a member given Join did not join within JoinTimeout; the
	// error names the likely cause.
	ErrJoin = errors.New("agent: not joined")
	// ErrNoCookie: a member that joins a cluster found no cookie file (only
	// a bootstrapping member creates one: a fresh cookie could never join).
	ErrNoCookie = errors.New("agent: no cookie file")
	// ErrBadRequest: a request the built-in kinds (counter, kv) refuse.
	ErrBadRequest = errors.New("bad request")
)
