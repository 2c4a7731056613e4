package membership

import (
	"bytes"
	"log"

	"github.com/rs/zerolog"
)

// logBridge adapts the standard-library log.Logger output of Serf and
// memberlist ("[WARN] memberlist: text\n") to zerolog. Every line is logged
// at debug level, whatever the library's own level (kept in the "lib_level"
// field): the libraries are chatty about expected conditions (probes failing
// during a partition, decrypt errors from a wrong-cookie node) and this
// package logs what matters at the right level itself.
type logBridge struct {
	log zerolog.Logger
}

// newStdLogger returns a log.Logger that writes into zl at debug level.
func newStdLogger(zl zerolog.Logger) *log.Logger {
	return log.New(logBridge{log: zl}, "", 0)
}

// Write implements io.Writer; log.Logger calls it once per line.
func (b logBridge) Write(p []byte) (int, error) {
	n := len(p)
	line := bytes.TrimRight(p, "\r\n")
	level := ""
	if len(line) > 2 && line[0] == '[' {
		if end := bytes.IndexByte(line, ']'); end > 1 && end < 16 {
			level = string(line[1:end])
			line = bytes.TrimLeft(line[end+1:], " ")
		}
	}
	ev := b.log.Debug()
	if level != "" {
		ev = ev.Str("lib_level", level)
	}
	ev.Msg(string(line))
	return n, nil
}
