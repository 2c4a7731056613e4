package transport

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// warnEvery is the least time between two warnings of one kind; the ones in
// between are counted and reported with the next (an unauthenticated peer
// must not be able to flood the log).
const warnEvery = time.Second

// logger is the endpoint's zerolog logger plus a per-kind rate limit for
// warnings.
type logger struct {
	zerolog.Logger
	mu         sync.Mutex // guards last and suppressed
	last       map[string]time.Time
	suppressed map[string]int
}

func newLogger(l zerolog.Logger) *logger {
	return &logger{Logger: l, last: make(map[string]time.Time), suppressed: make(map[string]int)}
}

// warn logs msg at warn level unless a warning of the same kind was logged
// less than warnEvery ago. addr is the remote address ("" if none).
func (l *logger) warn(kind, msg string, err error, addr string) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last[kind]) < warnEvery {
		l.suppressed[kind]++
		l.mu.Unlock()
		return
	}
	n := l.suppressed[kind]
	l.last[kind] = now
	delete(l.suppressed, kind)
	l.mu.Unlock()
	ev := l.Warn()
	if addr != "" {
		ev = ev.Str("addr", addr)
	}
	if err != nil {
		ev = ev.Str("err", err.Error())
	}
	if n > 0 {
		ev = ev.Int("suppressed", n)
	}
	ev.Msg(msg)
}

func (l *logger) debug(msg, addr string, err error) {
	l.Debug().Str("addr", addr).Str("err", err.Error()).Msg(msg)
}
