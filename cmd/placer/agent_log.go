package main

import (
	"io"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// levelWriter filters log lines by a level that can change while the
// agent runs (SIGHUP reloads it), without rebuilding the loggers every
// component already derived.
type levelWriter struct {
	w     io.Writer
	level *atomic.Int32 // a zerolog.Level
}

func (lw levelWriter) Write(p []byte) (int, error) { return lw.w.Write(p) }

func (lw levelWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if l < zerolog.Level(lw.level.Load()) {
		return len(p), nil
	}
	return lw.w.Write(p)
}

// newAgentLogger returns the agent's root logger writing to w in format
// ("console" or "json") at level, and the handle that changes the level.
func newAgentLogger(w io.Writer, format string, level zerolog.Level) (zerolog.Logger, *atomic.Int32) {
	lvl := new(atomic.Int32)
	lvl.Store(int32(level))
	out := w
	if format == "console" {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !isTerminal(w)}
	}
	log := zerolog.New(levelWriter{w: out, level: lvl}).Level(zerolog.TraceLevel).
		With().Timestamp().Logger()
	return log, lvl
}
