package node

import (
	"context"
	"encoding/json"
	"fmt"
)

// Codec turns Go values into payload bytes and back. The typed helpers
// (SendT, CallT, Decode, RPCT) use the node's codec (Config.Codec).
//
// The default is JSONCodec: payloads stay self-describing and readable in
// logs and from the CLI, need no type registration, do not depend on Go's
// type names (so two builds of a service still understand each other), and
// cost one small allocation-bound encode per message. encoding/gob was the
// alternative: it is faster for large structs on a long-lived stream, but a
// stream-less gob (one Encoder per message, which independent messages
// need) resends the type description every time, which makes small messages
// larger and slower than JSON. Swap in a faster binary codec when profiles
// say so: every node of a cluster must use the same one.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default Codec (encoding/json). A []byte value travels as
// base64, as encoding/json does.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// CodecSource is anything that knows the codec to use: *Node, *Proc and
// *Inbox.
type CodecSource interface{ Codec() Codec }

// Caller is what the typed helpers send and call through: *Node (as a
// caller outside any process), *Proc (as the process) and *Inbox.
type Caller interface {
	CodecSource
	Send(dest Dest, payload []byte) error
	Call(ctx context.Context, dest Dest, req []byte) ([]byte, error)
}

// Encode marshals v with src's codec, wrapping a failure in ErrBadArg.
func Encode[T any](src CodecSource, v T) ([]byte, error) {
	b, err := src.Codec().Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %T: %w", ErrBadArg, v, err)
	}
	return b, nil
}

// Decode unmarshals a payload into a T with src's codec, wrapping a failure
// in ErrBadArg.
func Decode[T any](src CodecSource, payload []byte) (T, error) {
	var v T
	if err := src.Codec().Unmarshal(payload, &v); err != nil {
		return v, fmt.Errorf("%w: decode %T: %w", ErrBadArg, v, err)
	}
	return v, nil
}

// SendT encodes v and sends it to dest through c.
func SendT[T any](c Caller, dest Dest, v T) error {
	b, err := Encode(c, v)
	if err != nil {
		return err
	}
	return c.Send(dest, b)
}

// CallT encodes req, calls dest through c and decodes the reply.
func CallT[Req, Resp any](ctx context.Context, c Caller, dest Dest, req Req) (Resp, error) {
	var zero Resp
	b, err := Encode(c, req)
	if err != nil {
		return zero, err
	}
	out, err := c.Call(ctx, dest, b)
	if err != nil {
		return zero, err
	}
	return Decode[Resp](c, out)
}

// RPCT encodes args, runs rpc function fn on node and decodes the result.
func RPCT[Args, Res any](ctx context.Context, n *Node, node, fn string, args Args) (Res, error) {
	var zero Res
	b, err := Encode(n, args)
	if err != nil {
		return zero, err
	}
	out, err := n.RPC(ctx, node, fn, b)
	if err != nil {
		return zero, err
	}
	return Decode[Res](n, out)
}
