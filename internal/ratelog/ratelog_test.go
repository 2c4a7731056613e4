package ratelog

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/logbuf"
)

type syncBuffer struct{ logbuf.Buffer }

// lines decodes the JSON lines written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestSummaryIsPrompt: of a burst of 1,000 warnings, one line is written
// at once and the count of the other 999 follows one interval later by
// itself, without waiting for another warning.
func TestSummaryIsPrompt(t *testing.T) {
	var out syncBuffer
	l := New(zerolog.New(&out), 50*time.Millisecond)
	defer l.Close()
	for i := range 1000 {
		if wrote := l.Warn("auth", "handshake failed", nil); wrote != (i == 0) {
			t.Fatalf("warning %d: wrote = %v", i, wrote)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(out.lines(t)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no summary line: %v", out.lines(t))
		}
		time.Sleep(5 * time.Millisecond)
	}
	lines := out.lines(t)
	if len(lines) != 2 || lines[1]["suppressed"] != float64(999) || lines[1]["kind"] != "auth" ||
		!strings.HasPrefix(lines[1]["message"].(string), "handshake failed") {
		t.Fatalf("lines %v, want one warning and a summary of 999", lines)
	}
}

// TestKindsAreIndependent: a flood of one kind does not hide another.
func TestKindsAreIndependent(t *testing.T) {
	var out syncBuffer
	l := New(zerolog.New(&out), time.Hour)
	l.Warn("a", "first", nil)
	l.Warn("a", "first", nil)
	if !l.Warn("b", "second", func(e *zerolog.Event) *zerolog.Event { return e.Str("addr", "x") }) {
		t.Fatal("kind b was suppressed by kind a")
	}
	l.Close()
	lines := out.lines(t)
	if len(lines) != 3 || lines[1]["addr"] != "x" || lines[2]["suppressed"] != float64(1) {
		t.Fatalf("lines %v", lines)
	}
}

// TestCloseFlushes: Close writes the pending count at once and leaves no
// timer running; warnings after Close are written.
func TestCloseFlushes(t *testing.T) {
	var out syncBuffer
	l := New(zerolog.New(&out), time.Hour)
	for range 5 {
		l.Warn("busy", "too many", nil)
	}
	l.Close()
	if lines := out.lines(t); len(lines) != 2 || lines[1]["suppressed"] != float64(4) {
		t.Fatalf("lines %v, want the summary of 4 at Close", lines)
	}
	if !l.Warn("busy", "after close", nil) {
		t.Fatal("a warning after Close was suppressed")
	}
}

// TestTally: the lines of a kind account for every warning of it, those
// written at once and those only counted, and other kinds are left out.
func TestTally(t *testing.T) {
	var out syncBuffer
	l := New(zerolog.New(&out), time.Hour)
	for range 25 {
		l.Warn("a", "a failed", nil)
	}
	l.Warn("b", "b failed", nil)
	l.Close() // writes a's summary
	if lines, n := Tally(out.String(), "a"); lines != 2 || n != 25 {
		t.Fatalf("kind a: %d lines for %d warnings, want 2 for 25\n%s", lines, n, out.String())
	}
	if lines, n := Tally(out.String(), "b"); lines != 1 || n != 1 {
		t.Fatalf("kind b: %d lines for %d warnings", lines, n)
	}
}
