package agent

import (
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// LevelVar is a log level that can change while the agent runs (SIGHUP
// reloads it, see Config.Reload), like slog.LevelVar: the loggers every
// component already derived from NewLogger's follow it. Safe for
// concurrent use; the zero value is zerolog.DebugLevel.
type LevelVar struct{ v atomic.Int32 }

// Level returns the current level.
func (l *LevelVar) Level() zerolog.Level { return zerolog.Level(l.v.Load()) }

// Set changes the level.
func (l *LevelVar) Set(level zerolog.Level) { l.v.Store(int32(level)) }

// levelWriter filters log lines by a LevelVar.
type levelWriter struct {
	w     io.Writer
	level *LevelVar
}

func (lw levelWriter) Write(p []byte) (int, error) { return lw.w.Write(p) }

func (lw levelWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if l < lw.level.Level() {
		return len(p), nil
	}
	return lw.w.Write(p)
}

// NewLogger returns a root logger writing to w in format ("console", in
// colour on a terminal, or "json") with timestamps, filtered by level:
// the logger of `placer agent`. JSON lines carry "time" in RFC 3339 with
// nanoseconds (UTC); console lines show local time to the millisecond.
// The format is set per logger (a hook), not through zerolog's globals.
func NewLogger(w io.Writer, format string, level *LevelVar) zerolog.Logger {
	out := w
	if format == "console" {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: consoleTime, NoColor: !onTerminal(w)}
	}
	return zerolog.New(levelWriter{w: out, level: level}).Level(zerolog.TraceLevel).Hook(timeHook{})
}

// consoleTime is the console's timestamp layout: milliseconds.
const consoleTime = "15:04:05.000"

// timeHook stamps every line with the time in RFC 3339 with nanoseconds
// (zerolog's Timestamp uses the package-wide TimeFieldFormat, seconds by
// default; ConsoleWriter parses this form back and prints consoleTime).
type timeHook struct{}

func (timeHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, time.Now().UTC().Format(time.RFC3339Nano))
}

// onTerminal reports whether w is a character device (a terminal).
func onTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
