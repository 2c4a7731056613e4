package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/transport"
)

// TransportParams is what the node tells its transport factory: the
// identity the transport must announce in its handshake.
type TransportParams struct {
	Name     string // node name, "name@host"
	Creation uint32 // this incarnation
	Hidden   bool   // connect as a hidden node
	// CookieFor returns the per-peer cookie set with Node.SetCookie, or nil
	// for peers without one (use the transport's own cookie). Wire it to the
	// transport's CookieFor option.
	CookieFor func(peer string) []byte
}

// TransportFactory creates the node's transport, delivering to h. It is
// called once, by New, and must not call h before it returns (frames that
// arrive meanwhile wait for New to finish). The same node code runs on the TCP transport
// (transport.Listen) and on the in-memory one (transport/memnet); see
// package inproc (node/inproc) for both.
type TransportFactory func(p TransportParams, h transport.Handler) (transport.Transport, error)

// RPCFunc is an rpc function (see Node.RegisterRPC). ctx ends at the
// caller's deadline or when the node shuts down.
type RPCFunc func(ctx context.Context, args []byte) ([]byte, error)

// Config configures a Node. Start from DefaultConfig (or a zero Config)
// and set Name and Transport. New copies it (its maps included).
//
// Zero values: a zero field means its documented default; New rejects any
// other value out of range with an error wrapping ErrBadConfig that names
// the field.
type Config struct {
	// Name is the node name, "name@host". Required.
	Name string
	// Hidden makes this a hidden node: it connects to others but is listed
	// only under NodesHidden, on both sides (CLI tools, observers).
	// Default false.
	Hidden bool
	// Creation is this incarnation's number; PIDs carry it so that a PID of
	// an earlier incarnation never reaches a process of this one. 0 (the
	// default) picks a random non-zero value: a restarted node must not
	// reuse its previous creation.
	Creation uint32
	// Transport creates the wire. Required.
	Transport TransportFactory
	// Kinds is the closed table of process kinds this node can spawn
	// (locally or at a remote node's request). Built-in kinds "echo" and
	// "printer" are added unless a kind of the same name is given. More can
	// be added with Node.RegisterKind.
	Kinds map[string]KindFactory
	// RPCs is the closed table of rpc functions. The built-ins (see
	// docs/node.md) are added unless one of the same name is given.
	RPCs map[string]RPCFunc
	// Codec for the typed helpers. Default JSONCodec{}. Every node of a
	// cluster must use the same one.
	Codec Codec
	// MailboxSize bounds each mailbox, in user messages and calls. When it
	// is full a message is dropped (counted) and a call fails with
	// ErrMailboxFull. Notifications (Down, Exit, node events) are not
	// counted against it, so none is ever lost. Default 1024: larger absorbs
	// longer bursts, smaller pushes back earlier.
	MailboxSize int
	// SendTimeout bounds the sends the node makes on its own behalf from a
	// transport callback (error replies, forwarded messages, DOWN for an
	// unknown target) when the outbound queue is full. Sends by processes
	// and users instead wait for room until the connection dies or the node
	// shuts down (back-pressure, like Erlang's busy distribution port).
	// Default 5 s.
	SendTimeout time.Duration
	// CallTimeout applies to calls, spawns and rpcs whose ctx has no
	// deadline, so that no call can hang forever. Default 5 s.
	CallTimeout time.Duration
	// HandoffGrace is how long a handed-off process's old PID keeps
	// forwarding what arrives for it to the new PID. Default 5 s: long
	// enough for senders to learn the new PID from the Down they get.
	HandoffGrace time.Duration
	// ShutdownTimeout bounds Close: how long to wait for processes to run
	// Terminate. Default 10 s.
	ShutdownTimeout time.Duration
	// MaxConcurrentRPC bounds the rpc functions running at once; more are
	// refused with ErrBusy. Default 256.
	MaxConcurrentRPC int
	// NodeEventBuffer is the channel capacity of SubscribeNodeEvents. When a
	// subscriber falls behind, the oldest event is dropped and the next one
	// delivered carries the count (NodeEvent.Dropped). Default 256.
	NodeEventBuffer int
	// Logger; the node logs through a child with component=node. Default
	// zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultConfig returns the defaults; Name and Transport must still be set.
func DefaultConfig() Config {
	return Config{
		Codec:            JSONCodec{},
		MailboxSize:      1024,
		SendTimeout:      5 * time.Second,
		CallTimeout:      5 * time.Second,
		HandoffGrace:     5 * time.Second,
		ShutdownTimeout:  10 * time.Second,
		MaxConcurrentRPC: 256,
		NodeEventBuffer:  256,
		Logger:           zerolog.Nop(),
	}
}

// validate checks c and fills zero durations and sizes with defaults.
func (c *Config) validate() error {
	if err := validName(c.Name); err != nil {
		return err
	}
	if c.Transport == nil {
		return fmt.Errorf("%w: Transport factory is required", ErrBadConfig)
	}
	d := DefaultConfig()
	if c.Codec == nil {
		c.Codec = d.Codec
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"SendTimeout", &c.SendTimeout, d.SendTimeout}, {"CallTimeout", &c.CallTimeout, d.CallTimeout},
		{"HandoffGrace", &c.HandoffGrace, d.HandoffGrace}, {"ShutdownTimeout", &c.ShutdownTimeout, d.ShutdownTimeout}} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < 0 {
			return fmt.Errorf("%w: %s %v is negative (0 = default)", ErrBadConfig, f.name, *f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{{"MailboxSize", &c.MailboxSize, d.MailboxSize}, {"MaxConcurrentRPC", &c.MaxConcurrentRPC, d.MaxConcurrentRPC},
		{"NodeEventBuffer", &c.NodeEventBuffer, d.NodeEventBuffer}} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < 0 {
			return fmt.Errorf("%w: %s %d is negative (0 = default)", ErrBadConfig, f.name, *f.v)
		}
	}
	for c.Creation == 0 {
		c.Creation = rand.Uint32()
	}
	return nil
}

func validName(name string) error {
	at := strings.IndexByte(name, '@')
	if at <= 0 || at == len(name)-1 || strings.Count(name, "@") != 1 {
		return fmt.Errorf("%w: Name %q is not name@host", ErrBadConfig, name)
	}
	return nil
}

// copyConfig copies the caller's maps so that later changes to them do not
// reach the node.
func copyConfig(c Config) Config {
	kinds := make(map[string]KindFactory, len(c.Kinds))
	for k, v := range c.Kinds {
		kinds[k] = v
	}
	rpcs := make(map[string]RPCFunc, len(c.RPCs))
	for k, v := range c.RPCs {
		rpcs[k] = v
	}
	c.Kinds, c.RPCs = kinds, rpcs
	return c
}
