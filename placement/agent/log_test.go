package agent

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLoggerTimestamps: JSON lines carry RFC 3339 time with nanoseconds,
// console lines milliseconds (zerolog's default is whole seconds, which
// could not order events a second apart), and durations carry units.
func TestLoggerTimestamps(t *testing.T) {
	var lv LevelVar
	var jb bytes.Buffer
	jl := NewLogger(&jb, "json", &lv)
	jl.Info().Stringer("took", 1500*time.Millisecond).Msg("x")
	var line struct {
		Time string `json:"time"`
		Took string `json:"took"`
	}
	if err := json.Unmarshal(jb.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, jb.String())
	}
	ts, err := time.Parse(time.RFC3339Nano, line.Time)
	if err != nil || !strings.Contains(line.Time, ".") || time.Since(ts) > time.Minute {
		t.Fatalf("json time %q: want RFC 3339 with fractional seconds (%v)", line.Time, err)
	}
	if line.Took != "1.5s" {
		t.Fatalf("duration %q: want a unit", line.Took)
	}
	var cb bytes.Buffer
	cl := NewLogger(&cb, "console", &lv)
	cl.Warn().Msg("y")
	if !regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} WRN y`).MatchString(cb.String()) {
		t.Fatalf("console line %q: want HH:MM:SS.mmm", cb.String())
	}
}
