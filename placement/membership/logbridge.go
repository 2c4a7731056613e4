package membership

import (
	"bytes"
	"log"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/ratelog"
)

// logBridge adapts the standard-library log.Logger output of Serf and
// memberlist ("[WARN] memberlist: text\n") to zerolog. Every line is logged
// at debug level, whatever the library's own level (kept in the "lib_level"
// field): the libraries are chatty about expected conditions (probes failing
// during a partition) and this package logs what matters at the right level
// itself. One exception: a gossip message or stream that fails to decrypt
// or to be read (a node with another cookie, or something that is not a
// placer node, knocking on the gossip port) is a warning, rate-limited
// (one line per authWarnEvery, with the count of the others) and naming the
// source address, since it is how a misconfigured joiner shows up on the
// members it tries to join.
type logBridge struct {
	log  zerolog.Logger
	auth *ratelog.Logger // nil: no escalation (tests of the plain bridge)
}

// authWarnEvery is the rate limit of the gossip authentication warnings
// (and of the membership's other repeated warnings: Membership.warns).
const authWarnEvery = 10 * time.Second

// newStdLogger returns a log.Logger that writes into zl at debug level.
func newStdLogger(zl zerolog.Logger) *log.Logger {
	return log.New(logBridge{log: zl}, "", 0)
}

// newBridgedLogger is newStdLogger with the gossip authentication
// failures escalated to auth (see logBridge).
func newBridgedLogger(zl zerolog.Logger, auth *ratelog.Logger) *log.Logger {
	return log.New(logBridge{log: zl, auth: auth}, "", 0)
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
	text := string(line)
	if b.auth != nil && isAuthFailure(text) {
		b.warnAuth(text)
		return n, nil
	}
	ev := b.log.Debug()
	if level != "" {
		ev = ev.Str("lib_level", level)
	}
	ev.Msg(text)
	return n, nil
}

// isAuthFailure: memberlist could not decrypt what a peer sent ("failed
// to receive: no installed keys could decrypt the message", "Decrypt
// packet failed"), found it unencrypted, or refused its label. A stream
// that merely broke (a peer dying mid-sync, a partition) is not one.
func isAuthFailure(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "decrypt") || strings.Contains(t, "not encrypted") ||
		strings.Contains(t, "unacceptable label") || strings.Contains(t, "invalid msgtype")
}

// warnAuth logs one gossip authentication failure, rate-limited.
func (b logBridge) warnAuth(text string) {
	from := sourceOf(text)
	b.auth.Warn("gossip-auth", "gossip from an unauthenticated source refused: another cookie (gossip key), or not a placer node",
		func(e *zerolog.Event) *zerolog.Event { return e.Str("from", from).Str("detail", text) })
}

// sourceOf extracts memberlist's "from=ADDR" (or "from ADDR") of a line.
func sourceOf(text string) string {
	i := strings.Index(text, "from=")
	skip := len("from=")
	if i < 0 {
		i, skip = strings.Index(text, "from "), len("from ")
	}
	if i < 0 {
		return "unknown"
	}
	rest := text[i+skip:]
	if j := strings.IndexAny(rest, " ,)"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
