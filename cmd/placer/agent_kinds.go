package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/placerhq/placer/node"
)

// Keyed kinds every agent registers, so that a cluster can be exercised
// from the CLI without user code. Both keep their state across handoffs.
const (
	// agentKindCounter: an integer. A message "N" adds N (an empty message
	// adds 1); a call "get" (or empty) returns the value, a call "N" adds
	// N and returns the new value, "reset" sets it to 0.
	agentKindCounter = "counter"
	// agentKindKV: a small string map. Messages "set K V" and "del K";
	// calls "get K", "set K V", "del K", "keys" (a JSON array) and "all"
	// (a JSON object; also an empty call).
	agentKindKV = "kv"
)

// kvMaxEntries and kvMaxValue bound a kv process's state.
const (
	kvMaxEntries = 10_000
	kvMaxValue   = 64 << 10
)

// errKind marks a request a built-in kind does not understand.
var errKind = errors.New("bad request")

func agentKinds() map[string]node.KindFactory {
	return map[string]node.KindFactory{
		agentKindCounter: func() node.Behavior { return &agentCounter{} },
		agentKindKV:      func() node.Behavior { return &agentKV{m: map[string]string{}} },
	}
}

// agentCounter is the "counter" kind.
type agentCounter struct {
	node.Base
	value int64
}

// HandleMessage adds the message's integer (1 if empty); anything else
// is ignored, as a send cannot report an error.
func (c *agentCounter) HandleMessage(_ *node.Proc, m node.Msg) {
	msg, ok := m.(node.Message)
	if !ok {
		return
	}
	text := strings.TrimSpace(string(msg.Payload))
	if text == "" {
		c.value++
		return
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		c.value += n
	}
}

// HandleCall answers get, reset, or adds an integer.
func (c *agentCounter) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	switch text := strings.TrimSpace(string(req)); text {
	case "", "get":
	case "reset":
		c.value = 0
	default:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: counter: want get, reset or an integer, got %q", errKind, text)
		}
		c.value += n
	}
	return strconv.AppendInt(nil, c.value, 10), nil
}

// ExportState hands the value off.
func (c *agentCounter) ExportState(*node.Proc) ([]byte, error) {
	return strconv.AppendInt(nil, c.value, 10), nil
}

// ImportState takes a handed-off value.
func (c *agentCounter) ImportState(_ *node.Proc, b []byte) (err error) {
	c.value, err = strconv.ParseInt(string(b), 10, 64)
	return err
}

// agentKV is the "kv" kind.
type agentKV struct {
	node.Base
	m map[string]string
}

// HandleMessage applies set and del; anything else is ignored.
func (s *agentKV) HandleMessage(_ *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok {
		_, _ = s.apply(string(msg.Payload))
	}
}

// HandleCall applies a request and returns its result.
func (s *agentKV) HandleCall(_ *node.Proc, _ node.PID, req []byte) ([]byte, error) {
	return s.apply(string(req))
}

// apply runs one kv request.
func (s *agentKV) apply(req string) ([]byte, error) {
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
			return nil, fmt.Errorf("%w: kv: no key %q", errKind, key)
		}
		return []byte(v), nil
	case op == "set" && key != "" && hasValue:
		return s.set(key, value)
	case op == "del" && key != "":
		delete(s.m, key)
		return []byte("ok"), nil
	}
	return nil, fmt.Errorf("%w: kv: want get K, set K V, del K, keys or all, got %q", errKind, req)
}

func (s *agentKV) set(key, value string) ([]byte, error) {
	if _, ok := s.m[key]; !ok && len(s.m) >= kvMaxEntries {
		return nil, fmt.Errorf("%w: kv: full (%d keys)", errKind, kvMaxEntries)
	}
	if len(value) > kvMaxValue {
		return nil, fmt.Errorf("%w: kv: value of %d bytes (max %d)", errKind, len(value), kvMaxValue)
	}
	s.m[key] = value
	return []byte("ok"), nil
}

// ExportState hands the map off as JSON.
func (s *agentKV) ExportState(*node.Proc) ([]byte, error) { return json.Marshal(s.m) }

// ImportState takes a handed-off map.
func (s *agentKV) ImportState(_ *node.Proc, b []byte) error {
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	s.m = m
	return nil
}
