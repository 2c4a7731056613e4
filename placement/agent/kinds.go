package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

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
	// object; also an empty call).
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
		KindKV:      func() node.Behavior { return &kv{m: map[string]string{}} },
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

// kv is the "kv" kind.
type kv struct {
	node.Base
	m map[string]string
}

// HandleMessage applies set and del; anything else is ignored.
func (s *kv) HandleMessage(_ *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok {
		_, _ = s.apply(string(msg.Payload))
	}
}

// HandleCall applies a request and returns its result.
func (s *kv) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	return s.apply(string(req))
}

// apply runs one kv request.
func (s *kv) apply(req string) ([]byte, error) {
	op, rest, _ := strings.Cut(strings.TrimSpace(req), " ")
	key, value, hasValue := strings.Cut(rest, " ")
	switch {
	case op == "" || op == "all":
		return json.Marshal(s.m)
	case op == "keys":
		keys := make([]string, 0, len(s.m))
		for k := range s.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return json.Marshal(keys)
	case op == "get" && key != "":
		v, ok := s.m[key]
		if !ok {
			return nil, fmt.Errorf("%w: kv: no key %q", ErrBadRequest, key)
		}
		return []byte(v), nil
	case op == "set" && key != "" && hasValue:
		return s.set(key, value)
	case op == "del" && key != "":
		delete(s.m, key)
		return []byte("ok"), nil
	}
	return nil, fmt.Errorf("%w: kv: want get K, set K V, del K, keys or all, got %q", ErrBadRequest, req)
}

func (s *kv) set(key, value string) ([]byte, error) {
	if _, ok := s.m[key]; !ok && len(s.m) >= kvMaxEntries {
		return nil, fmt.Errorf("%w: kv: full (%d keys)", ErrBadRequest, kvMaxEntries)
	}
	if len(value) > kvMaxValue {
		return nil, fmt.Errorf("%w: kv: value of %d bytes (max %d)", ErrBadRequest, len(value), kvMaxValue)
	}
	s.m[key] = value
	return []byte("ok"), nil
}

// ExportState hands the map off as JSON.
func (s *kv) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(s.m) }

// ImportState takes a handed-off map.
func (s *kv) ImportState(_ *node.Proc, b []byte) error {
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	s.m = m
	return nil
}
