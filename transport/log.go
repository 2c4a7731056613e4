package transport

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/ratelog"
)

// warnEvery is the least time between two warnings of one kind; the count
// of the ones in between is logged one interval after the last line (an
// unauthenticated peer must not be able to flood the log, and the operator
// must still learn promptly how many failures there were).
const warnEvery = time.Second

// logger is the endpoint's zerolog logger plus per-kind rate-limited
// warnings.
type logger struct {
	zerolog.Logger
	rl *ratelog.Logger
}

func newLogger(l zerolog.Logger) *logger {
	return &logger{Logger: l, rl: ratelog.New(l, warnEvery)}
}

// warn logs msg at warn level, rate-limited per kind. addr is the remote
// address ("" if none). Never pass a secret.
func (l *logger) warn(kind, msg string, err error, addr string) {
	l.rl.Warn(kind, msg, func(ev *zerolog.Event) *zerolog.Event {
		if addr != "" {
			ev = ev.Str("addr", addr)
		}
		if err != nil {
			ev = ev.Str("err", err.Error())
		}
		return ev
	})
}

func (l *logger) debug(msg, addr string, err error) {
	l.Debug().Str("addr", addr).Str("err", err.Error()).Msg(msg)
}

// close reports the pending counts of suppressed warnings and stops their
// timers.
func (l *logger) close() { l.rl.Close() }
