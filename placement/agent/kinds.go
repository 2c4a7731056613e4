package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/placerhq/placer/node"
)

// Keyed kinds every agent registers, so that a cluster can be exercised
// from the CLI without user code. Both keep their state across handoffs.
const (
	// KindCounter: an int64. A message "N" adds N (an empty message adds
	// 1); a call "get" (or empty) returns the value, a call "N" adds N and
	// returns the new value, "reset" sets it to 0. An add that would
	// overflow is refused (a call fails with ErrBadRequest, a message is
	// ignored) and the value stays.
	KindCounter = "counter"
	// KindKV: a small string map. Messages "set K V" and "del K"; calls
	// "get K", "set K V", "del K", "keys" (a JSON array) and "all" (a JSON
	// object; also an empty call). Every entry carries its write's hybrid
	// logical clock time, so two copies of a key merge at a heal, the
	// last writer winning per entry (placement.Merger).
	KindKV = "kv"
)

// kvMaxEntries and kvMaxValue bound a kv process's state.
const (
	kvMaxEntries = 10_000
	kvMaxValue   = 64 << 10
)

// Kinds returns the built-in keyed kinds, counter and kv: a fresh map the
// caller may extend.
func Kinds() map[string]node.KindFactory {
	return map[string]node.KindFactory{
		KindCounter: func() node.Behavior { return &counter{} },
		KindKV:      func() node.Behavior { return &kv{m: map[string]kvEntry{}} },
	}
}

// checkMessage refuses a message a built-in kind would ignore, so that
// `placer send` reports it instead of "ok" (placement.Config.CheckMessage).
func checkMessage(kind string, payload []byte) error {
	text := strings.TrimSpace(string(payload))
	switch kind {
	case KindCounter:
		if _, err := strconv.ParseInt(text, 10, 64); text != "" && err != nil {
			return fmt.Errorf("counter: a message is an integer to add (empty: 1), got %q", text)
		}
	case KindKV:
		op, rest, _ := strings.Cut(text, " ")
		key, _, hasValue := strings.Cut(rest, " ")
		if !(op == "set" && key != "" && hasValue) && !(op == "del" && key != "") {
			return fmt.Errorf("kv: a message is \"set K V\" or \"del K\", got %q", text)
		}
	}
	return nil
}

// counter is the "counter" kind.
type counter struct {
	node.Base
	value int64
}

// HandleMessage adds the message's integer (1 if empty); anything else,
// and an add that would overflow, is ignored, as a send cannot report an
// error.
func (c *counter) HandleMessage(_ *node.Proc, m node.Msg) {
	msg, ok := m.(node.Message)
	if !ok {
		return
	}
	n := int64(1)
	if text := strings.TrimSpace(string(msg.Payload)); text != "" {
		var err error
		if n, err = strconv.ParseInt(text, 10, 64); err != nil {
			return
		}
	}
	_ = c.add(n)
}

// HandleCall answers get, reset, or adds an integer.
func (c *counter) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	switch text := strings.TrimSpace(string(req)); text {
	case "", "get":
	case "reset":
		c.value = 0
	default:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: counter: want get, reset or an integer, got %q", ErrBadRequest, text)
		}
		if err := c.add(n); err != nil {
			return nil, err
		}
	}
	return strconv.AppendInt(nil, c.value, 10), nil
}

// add adds n unless the sum would leave the int64 range.
func (c *counter) add(n int64) error {
	if (n > 0 && c.value > math.MaxInt64-n) || (n < 0 && c.value < math.MinInt64-n) {
		return fmt.Errorf("%w: counter: adding %d to %d would overflow (the range is %d..%d)",
			ErrBadRequest, n, c.value, int64(math.MinInt64), int64(math.MaxInt64))
	}
	c.value += n
	return nil
}

// ExportState hands the value off.
func (c *counter) ExportState(*node.Proc) ([]byte, error) {
	return strconv.AppendInt(nil, c.value, 10), nil
}

// ImportState takes a handed-off value.
func (c *counter) ImportState(_ *node.Proc, b []byte) (err error) {
	c.value, err = strconv.ParseInt(string(b), 10, 64)
	return err
}

// kv is the "kv" kind: a map whose every entry carries the hybrid
// logical clock time of its last write and the node that wrote it, so
// that two copies of one key (both sides of a partition, R = 1) merge at a
// heal entry by entry, the last writer winning (placement.Merger).
// Deletions are kept as tombstones for kvTombstoneTTL so that a delete is
// not undone by a merge.
type kv struct {
	node.Base
	m   map[string]kvEntry
	hlc uint64 // the last time issued or seen: wall milliseconds << 16 | counter
}

// kvEntry is one key's value and its write's time.
type kvEntry struct {
	Value   string `json:"v"`
	Time    uint64 `json:"t"`           // HLC: wall ms << 16 | logical counter
	Node    string `json:"n,omitempty"` // the writer's node: breaks HLC ties
	Deleted bool   `json:"d,omitempty"`
}

// kvTombstoneTTL is how long a delete is remembered for merges.
const kvTombstoneTTL = 10 * time.Minute

// newer reports whether e supersedes o (a later time, then a greater node).
func (e kvEntry) newer(o kvEntry) bool {
	return e.Time > o.Time || (e.Time == o.Time && e.Node > o.Node)
}

// now issues the next HLC time.
func (s *kv) now() uint64 {
	t := max(uint64(time.Now().UnixMilli())<<16, s.hlc+1)
	s.hlc = t
	return t
}

// observe moves the clock past a time seen in a merged copy.
func (s *kv) observe(t uint64) { s.hlc = max(s.hlc, t) }

// HandleMessage applies set and del; anything else is ignored.
func (s *kv) HandleMessage(p *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok {
		_, _ = s.apply(p, string(msg.Payload))
	}
}

// HandleCall applies a request and returns its result.
func (s *kv) HandleCall(p *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	return s.apply(p, string(req))
}

// apply runs one kv request.
func (s *kv) apply(p *node.Proc, req string) ([]byte, error) {
	op, rest, _ := strings.Cut(strings.TrimSpace(req), " ")
	key, value, hasValue := strings.Cut(rest, " ")
	switch {
	case op == "" || op == "all":
		return json.Marshal(s.live())
	case op == "keys":
		keys := make([]string, 0, len(s.m))
		for k, e := range s.m {
			if !e.Deleted {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		return json.Marshal(keys)
	case op == "get" && key != "":
		e, ok := s.m[key]
		if !ok || e.Deleted {
			return nil, fmt.Errorf("%w: kv: no key %q", ErrBadRequest, key)
		}
		return []byte(e.Value), nil
	case op == "set" && key != "" && hasValue:
		return s.set(p, key, value)
	case op == "del" && key != "":
		s.m[key] = kvEntry{Time: s.now(), Node: writer(p), Deleted: true}
		return []byte("ok"), nil
	}
	return nil, fmt.Errorf("%w: kv: want get K, set K V, del K, keys or all, got %q", ErrBadRequest, req)
}

// writer is the name of p's node ("" without a process: tests).
func writer(p *node.Proc) string {
	if p == nil {
		return ""
	}
	return p.Node().Self()
}

// live is the map without tombstones.
func (s *kv) live() map[string]string {
	out := make(map[string]string, len(s.m))
	for k, e := range s.m {
		if !e.Deleted {
			out[k] = e.Value
		}
	}
	return out
}

func (s *kv) set(p *node.Proc, key, value string) ([]byte, error) {
	if e, ok := s.m[key]; (!ok || e.Deleted) && len(s.m) >= kvMaxEntries {
		s.expireTombstones()
		if len(s.m) >= kvMaxEntries {
			return nil, fmt.Errorf("%w: kv: full (%d keys)", ErrBadRequest, kvMaxEntries)
		}
	}
	if len(value) > kvMaxValue {
		return nil, fmt.Errorf("%w: kv: value of %d bytes (max %d)", ErrBadRequest, len(value), kvMaxValue)
	}
	s.m[key] = kvEntry{Value: value, Time: s.now(), Node: writer(p)}
	return []byte("ok"), nil
}

// expireTombstones forgets deletes older than kvTombstoneTTL.
func (s *kv) expireTombstones() {
	cutoff := uint64(time.Now().Add(-kvTombstoneTTL).UnixMilli()) << 16
	for k, e := range s.m {
		if e.Deleted && e.Time < cutoff {
			delete(s.m, k)
		}
	}
}

// ExportState hands the map off as JSON (entries with their times).
func (s *kv) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(s.m) }

// ImportState takes a handed-off map.
func (s *kv) ImportState(_ *node.Proc, b []byte) error {
	m, err := decodeKV(b)
	if err != nil {
		return err
	}
	s.m = m
	for _, e := range m {
		s.observe(e.Time)
	}
	return nil
}

// MergeState takes, entry by entry, whichever write is later: the other
// copy's or this one's (placement.Merger).
func (s *kv) MergeState(_ *node.Proc, other []byte) error {
	m, err := decodeKV(other)
	if err != nil {
		return err
	}
	for k, e := range m {
		if cur, ok := s.m[k]; !ok || e.newer(cur) {
			s.m[k] = e
		}
		s.observe(e.Time)
	}
	return nil
}

func decodeKV(b []byte) (map[string]kvEntry, error) {
	m := map[string]kvEntry{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: kv state: %w", ErrBadRequest, err)
	}
	return m, nil
}
