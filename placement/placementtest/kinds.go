package placementtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// The test kinds every harness node registers (Kinds).
const (
	// KindCounter is a Counter that exports its state: it keeps it across
	// handoffs.
	KindCounter = "counter"
	// KindPlain is a Counter that does not export: it restarts fresh on
	// its new owner.
	KindPlain = "plain"
)

// CounterState is what a Counter holds.
type CounterState struct {
	// Born is the PID the key's process started as: a fresh start has a
	// new one, a handoff keeps it.
	Born string `json:"born"`
	// Count is the number of messages and "inc" calls handled.
	Count int64 `json:"count"`
	// Last is, per sender, the last sequence number seen.
	Last map[string]int64 `json:"last"`
	// Disorder counts messages whose sequence number was not above the
	// sender's last one: reordered or duplicated.
	Disorder int64 `json:"disorder"`
}

// Counter is the test kind. Messages "sender seq" count (and are checked
// for order per sender), other messages count too, and "ping" answers
// "pong" to its sender. Calls: "inc" counts and returns the count, "get"
// (or anything else) returns the state as JSON.
type Counter struct {
	node.Base
	st CounterState
}

// ExportingCounter is a Counter whose state survives handoffs (it
// implements node.StateExporter and node.StateImporter).
type ExportingCounter struct{ Counter }

// Kinds returns the factories of KindCounter and KindPlain.
func Kinds() map[string]node.KindFactory {
	return map[string]node.KindFactory{
		KindCounter: func() node.Behavior { return &ExportingCounter{} },
		KindPlain:   func() node.Behavior { return &Counter{} },
	}
}

// Init records where the process was born.
func (c *Counter) Init(p *node.Proc, _ []byte) error {
	c.st = CounterState{Born: p.Self().String(), Last: map[string]int64{}}
	return nil
}

// HandleMessage counts a message (see Counter).
func (c *Counter) HandleMessage(p *node.Proc, m node.Msg) {
	msg, ok := m.(node.Message)
	if !ok {
		return
	}
	if string(msg.Payload) == "ping" {
		_ = p.Send(msg.From, []byte("pong"))
		return
	}
	c.st.Count++
	sender, seqText, ok := strings.Cut(string(msg.Payload), " ")
	if !ok {
		return
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		return
	}
	if seq <= c.st.Last[sender] {
		c.st.Disorder++
	}
	c.st.Last[sender] = seq
}

// HandleCall: "inc" counts and returns the count; anything else returns
// the state as JSON.
func (c *Counter) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	if string(req) == "inc" {
		c.st.Count++
		return []byte(strconv.FormatInt(c.st.Count, 10)), nil
	}
	return json.Marshal(c.st)
}

// ExportState hands the state to the new owner.
func (c *ExportingCounter) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(c.st) }

// ImportState takes the old owner's state.
func (c *ExportingCounter) ImportState(_ *node.Proc, b []byte) error {
	return json.Unmarshal(b, &c.st)
}

// KeyName is the i-th test key.
func KeyName(i int) string { return fmt.Sprintf("key-%06d", i) }

// KeyNames returns the first n test keys.
func KeyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = KeyName(i)
	}
	return out
}

// GetCounter reads a Counter key's state through p (a routed call).
func GetCounter(ctx context.Context, p *placement.Cluster, kind, key string) (CounterState, error) {
	out, err := p.Call(ctx, kind, key, []byte("get"))
	if err != nil {
		return CounterState{}, err
	}
	var st CounterState
	if err := json.Unmarshal(out, &st); err != nil {
		return CounterState{}, fmt.Errorf("%s %s: state %q: %w", kind, key, out, err)
	}
	return st, nil
}

// CreateKeys starts every key of kind (one read each, through the nodes of
// cs in turn, 16 at a time) and returns each key's Born.
func CreateKeys(ctx context.Context, cs []*placement.Cluster, kind string, keys []string) (map[string]string, error) {
	born := make([]string, len(keys))
	err := forEach(ctx, len(keys), func(i int) error {
		st, err := GetCounter(ctx, cs[i%len(cs)], kind, keys[i])
		if err != nil {
			return fmt.Errorf("create %s: %w", keys[i], err)
		}
		born[i] = st.Born
		return nil
	})
	out := make(map[string]string, len(keys))
	for i, k := range keys {
		out[k] = born[i]
	}
	return out, err
}
