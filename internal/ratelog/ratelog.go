// Package ratelog rate-limits repeated warnings. It began in the transports: an
// unauthenticated peer can make a node fail handshakes as fast as it can
// connect, and must not be able to flood the log with them.
//
// Each kind of warning is logged at most once per interval. The repeats in
// between are counted, and their count is reported promptly: one interval
// after the last line of that kind, in a line of its own, not with the next
// failure, which may come minutes later (or never). Close reports what is
// still pending and ends every timer, so no goroutine outlives the owner.
package ratelog

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Logger is a zerolog logger whose Warn lines are rate-limited per kind.
// Safe for concurrent use.
type Logger struct {
	log   zerolog.Logger
	every time.Duration

	mu     sync.Mutex // guards kinds and closed
	kinds  map[string]*kind
	closed bool
	wg     sync.WaitGroup // running flush timers
}

// kind is the state of one kind of warning. Guarded by Logger.mu.
type kind struct {
	msg        string      // the message of the last line, for the summary
	last       time.Time   // when a line of this kind was last written
	suppressed int         // repeats since then
	timer      *time.Timer // pending summary, or nil
}

// New returns a Logger writing to l, at most one line per kind per every.
func New(l zerolog.Logger, every time.Duration) *Logger {
	return &Logger{log: l, every: every, kinds: make(map[string]*kind)}
}

// Warn logs msg at warn level, with the fields fields adds (it may be nil),
// unless a line of the same kind was written less than the interval ago;
// then it only counts it, and a summary line reports the count one interval
// after the last line. It reports whether the line was written.
func (l *Logger) Warn(kindName, msg string, fields func(*zerolog.Event) *zerolog.Event) bool {
	l.mu.Lock()
	k := l.kinds[kindName]
	if k == nil {
		k = &kind{}
		l.kinds[kindName] = k
	}
	now := time.Now()
	if l.closed || now.Sub(k.last) >= l.every {
		n := k.suppressed // a summary not written yet goes with this line
		k.last, k.msg, k.suppressed = now, msg, 0
		l.mu.Unlock()
		ev := l.log.Warn().Str("kind", kindName)
		if fields != nil {
			ev = fields(ev)
		}
		if n > 0 {
			ev = ev.Int("suppressed", n)
		}
		ev.Msg(msg)
		return true
	}
	k.suppressed++
	l.scheduleLocked(kindName, k, k.last.Add(l.every).Sub(now))
	l.mu.Unlock()
	return false
}

// scheduleLocked arms the summary of k, if it is not armed yet.
func (l *Logger) scheduleLocked(name string, k *kind, after time.Duration) {
	if k.timer != nil {
		return
	}
	l.wg.Add(1)
	k.timer = time.AfterFunc(after, func() {
		defer l.wg.Done()
		l.flush(name)
	})
}

// summarySuffix ends the message of a summary line (which only counts).
const summarySuffix = " (repeats suppressed)"

// flush writes the summary of kind name, if any repeats are pending; the
// summary counts as a line (it starts a new interval).
func (l *Logger) flush(name string) {
	l.mu.Lock()
	k := l.kinds[name]
	n, msg := k.suppressed, k.msg
	k.suppressed, k.timer = 0, nil
	if n > 0 {
		k.last = time.Now()
	}
	l.mu.Unlock()
	if n > 0 {
		l.log.Warn().Str("kind", name).Int("suppressed", n).Stringer("window", l.every).
			Msg(msg + summarySuffix)
	}
}

// Close writes every pending summary at once and stops the timers; later
// warnings are written unlimited (there is nothing left to flood). It
// returns once no timer goroutine is running.
func (l *Logger) Close() {
	l.mu.Lock()
	l.closed = true
	var names []string
	for name, k := range l.kinds {
		if k.timer != nil && k.timer.Stop() {
			l.wg.Done() // its func will not run
			k.timer = nil
		}
		if k.suppressed > 0 {
			names = append(names, name)
		}
	}
	l.mu.Unlock()
	for _, name := range names {
		l.flush(name)
	}
	l.wg.Wait()
}

// Tally reads JSON log lines (as zerolog writes them) and returns how many
// lines are of kind, and how many warnings they account for: one for each
// line written at once, plus the "suppressed" count each line carries. A
// test that caused n warnings of a kind checks warnings == n and lines
// small.
func Tally(logs, kind string) (lines, warnings int) {
	for _, line := range strings.Split(logs, "\n") {
		var m struct {
			Kind       string `json:"kind"`
			Suppressed int    `json:"suppressed"`
			Message    string `json:"message"`
		}
		if json.Unmarshal([]byte(line), &m) != nil || m.Kind != kind {
			continue
		}
		lines++
		if !strings.HasSuffix(m.Message, summarySuffix) {
			warnings++
		}
		warnings += m.Suppressed
	}
	return lines, warnings
}
