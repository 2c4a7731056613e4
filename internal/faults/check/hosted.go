package check

import (
	"slices"
	"sort"
	"strings"

	"github.com/placerhq/placer/internal/faults/history"
)

// A Copies entry of a MarkHosted names a node, with ":state" appended
// when the key is not active there ("n2@198.18.0.2:importing",
// "n3@198.18.0.3:backup").

// Holding returns the nodes that hold the key's process or its primary
// state: active, flushing, passivated, or frozen while moving. A backup
// copy does not count, nor the receiving end of a handoff (starting,
// pulling, importing): one key in transit from a moving node to an
// importing one is one process, two moving or active entries are two.
func Holding(nodes []string) []string {
	var out []string
	for _, n := range nodes {
		_, st, _ := strings.Cut(n, ":")
		if st == "" || st == "flushing" || st == "passive" || st == "moving" {
			out = append(out, n)
		}
	}
	return out
}

// primary reports whether an entry is a primary's (anything but a backup).
func primary(n string) bool { return !strings.HasSuffix(n, ":backup") }

// Dup is a span during which more than one node held a key (see Holding),
// in consecutive snapshots.
type Dup struct {
	Key      string
	From, To int64    // first and last snapshot that showed it
	Nodes    []string // the nodes of the first
	Allowed  bool     // inside one of the allowed windows
}

// Duplicates finds every span of at least two consecutive snapshots
// (history.MarkHosted) in which two or more nodes held a key.
// A single snapshot is not enough: the nodes answer a few milliseconds
// apart, and a handoff finishing in between looks like two copies. A span
// inside one of allowed (a partition and the time the design gives its
// heal) is Allowed.
func Duplicates(marks []history.Mark, allowed []Window) []Dup {
	snaps := hostedSnaps(marks)
	var out []Dup
	open := map[string]*Dup{}
	count := map[string]int{}
	for _, m := range snaps {
		seen := map[string]bool{}
		for key, nodes := range m.Copies {
			if a := Holding(nodes); len(a) > 1 {
				seen[key] = true
				if open[key] == nil {
					open[key] = &Dup{Key: key, From: m.T, Nodes: a}
				}
				open[key].To = m.T
				count[key]++
			}
		}
		out = closeDups(out, open, count, seen, allowed)
	}
	return closeDups(out, open, count, nil, allowed)
}

// closeDups ends the open spans of keys not seen in the last snapshot,
// keeping those of two snapshots or more.
func closeDups(out []Dup, open map[string]*Dup, count map[string]int, seen map[string]bool, allowed []Window) []Dup {
	keys := make([]string, 0, len(open))
	for key := range open {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if seen[key] {
			continue
		}
		if d := open[key]; count[key] >= 2 {
			d.Allowed = within(d.From, d.To, allowed)
			out = append(out, *d)
		}
		delete(open, key)
		delete(count, key)
	}
	return out
}

// within reports whether [from, to] lies inside one window.
func within(from, to int64, ws []Window) bool {
	for _, w := range ws {
		if w.Contains(from) && w.Contains(to) {
			return true
		}
	}
	return false
}

func hostedSnaps(marks []history.Mark) []history.Mark {
	var out []history.Mark
	for _, m := range marks {
		if m.Type == history.MarkHosted {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// Settled returns the time of the first snapshot at or after from from
// which on every snapshot is Clean; ok is false if the last is not.
func Settled(marks []history.Mark, from int64, keys, live []string) (int64, bool) {
	var at int64
	ok := false
	for _, m := range hostedSnaps(marks) {
		if m.T < from {
			continue
		}
		if !Clean(m, keys, live) {
			ok = false
			continue
		}
		if !ok {
			at, ok = m.T, true
		}
	}
	return at, ok
}

// Clean reports whether snapshot m (a history.MarkHosted) was answered by
// every node of live and shows each of keys ("kind/key") with a primary
// entry and held by at most one node: one process per key.
func Clean(m history.Mark, keys, live []string) bool {
	answered := set(m.Nodes)
	for _, n := range live {
		if !answered[n] {
			return false
		}
	}
	for _, key := range keys {
		nodes := m.Copies[key]
		if !slices.ContainsFunc(nodes, primary) || len(Holding(nodes)) > 1 {
			return false
		}
	}
	return true
}
