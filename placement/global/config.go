package global

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Reserved names: the keyed kinds of the authorities (add them to
// placement.Config.Kinds with Service.Configure), the node kind of the lock
// sessions of hidden clients, and the node service every Service registers.
const (
	KindName        = "placer.name"
	KindLock        = "placer.lock"
	KindLockSession = "placer.lock.session"
	ServiceName     = "placer.global"
)

// MaxNameLen is the longest global name or lock id, in bytes (an Erlang
// atom's limit, and pg's group names').
const MaxNameLen = 255

// ConflictAction says what happens to the process that loses a name when a
// heal finds it registered on both sides.
type ConflictAction uint8

const (
	// NotifyLoser sends the loser a NameConflict message and leaves it
	// running (:global's random_notify_name / notify_all_name).
	NotifyLoser ConflictAction = iota
	// ExitLoser exits the loser with an error reason naming the conflict
	// (:global's random_exit_name, its default).
	ExitLoser
)

// Config configures a Service. Start from DefaultConfig.
type Config struct {
	// Resolve picks the winner when a heal (or a crashed authority's
	// recovery) finds a name held by two live processes. It runs on the
	// name's authority process, never under a lock, and must return one of
	// its arguments (anything else counts as DefaultResolver's choice).
	// Default DefaultResolver: the earlier registration by hybrid logical
	// clock wins, ties by node name.
	Resolve Resolver
	// OnConflict is what happens to the loser of a name conflict. Default
	// NotifyLoser: a Go process decides for itself; ExitLoser is :global's
	// default.
	OnConflict ConflictAction
	// TombstoneTTL is how long every node remembers that a registration
	// ended (unregistered, or its process exited), so that a side of a
	// partition that still holds it cannot bring it back at the heal.
	// Default 10 min: a split longer than this may bring such a name back
	// (one entry per ended name per node, for this long).
	TombstoneTTL time.Duration
	// RecoveryWindow: for this long after this node's view changed, an
	// authority process that starts without handed-off state asks every
	// visible node what it knows of its id (one parallel round trip) before
	// it answers a request that changes state; later, its own node's
	// replica (which every claim and dissemination reached) is enough.
	// Default 10 s, placement's PullWindow: well beyond the time the nodes
	// need to send their claims after a view change.
	RecoveryWindow time.Duration
	// RecoverTimeout bounds that round trip. Default 1 s.
	RecoverTimeout time.Duration
	// IdleTimeout: an authority process with nothing to guard (no live
	// holder, no lock holder or waiter) exits after this long without a
	// request, so that only held names and locks cost a goroutine. Default
	// 30 s.
	IdleTimeout time.Duration
	// SyncInterval is how often a node re-sends the claims no authority
	// acknowledged yet and checks that each live name it owns has an
	// authority process monitoring its holder. Default 1 s.
	SyncInterval time.Duration
	// LockQuorum grants locks only on a side of the cluster that holds a
	// strict majority of the last full membership (membership.Quorum);
	// elsewhere SetLock fails with placement.ErrNoQuorum. A lock granted
	// before a partition is not revoked on the minority side: the fencing
	// token is the protection (docs/global.md). Default false.
	LockQuorum bool
	// Coalesce bounds how long a change may wait to be disseminated while
	// changes keep coming: a node's sender flushes at most once per
	// Coalesce, and each other node then gets one message with every
	// change since the last flush instead of one message per change. A
	// change after a quieter spell goes out at once. Default 200 µs; a
	// negative value sends each change at once.
	Coalesce time.Duration
	// MaxMessageSize bounds one dissemination message; a larger sync is
	// split. It must stay below the transport's MaxFrameSize. Default 64
	// KiB; at least 4 KiB.
	MaxMessageSize int
	// Clock is the wall clock the hybrid logical clock reads. Default
	// time.Now (tests inject one).
	Clock func() time.Time
	// Logger receives the service's logs through a child with
	// component=global. Default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Resolve: DefaultResolver, TombstoneTTL: 10 * time.Minute,
		RecoveryWindow: 10 * time.Second, RecoverTimeout: time.Second,
		IdleTimeout: 30 * time.Second, SyncInterval: time.Second,
		Coalesce: 200 * time.Microsecond, MaxMessageSize: 64 << 10, Clock: time.Now, Logger: zerolog.Nop(),
	}
}

// minMessageSize is the least MaxMessageSize: a record of the longest name
// and node names, with room to spare.
const minMessageSize = 4 << 10

// validate fills zero fields with defaults and checks the rest.
func (c *Config) validate() error {
	d := DefaultConfig()
	if c.Resolve == nil {
		c.Resolve = d.Resolve
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
		key string
	}{{&c.TombstoneTTL, d.TombstoneTTL, "TombstoneTTL"}, {&c.RecoveryWindow, d.RecoveryWindow, "RecoveryWindow"},
		{&c.RecoverTimeout, d.RecoverTimeout, "RecoverTimeout"}, {&c.IdleTimeout, d.IdleTimeout, "IdleTimeout"},
		{&c.SyncInterval, d.SyncInterval, "SyncInterval"}} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrBadConfig, f.key, *f.v)
		}
	}
	if c.Coalesce == 0 {
		c.Coalesce = d.Coalesce
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = d.MaxMessageSize
	}
	if c.MaxMessageSize < minMessageSize {
		return fmt.Errorf("%w: MaxMessageSize %d below %d", ErrBadConfig, c.MaxMessageSize, minMessageSize)
	}
	if c.OnConflict > ExitLoser {
		return fmt.Errorf("%w: OnConflict %d", ErrBadConfig, c.OnConflict)
	}
	return nil
}

// checkName returns ErrBadName unless name is a valid global name or lock
// id: 1..MaxNameLen bytes of valid UTF-8 (it is a placement key).
func checkName(name string) error {
	switch {
	case name == "" || len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d bytes (1 to %d)", ErrBadName, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadName)
	}
	return nil
}
