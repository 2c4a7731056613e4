package pg

import (
	"fmt"

	"github.com/rs/zerolog"
)

// DefaultScope is the name of the scope most programs use (pg's default
// scope, also named pg).
const DefaultScope = "pg"

// MaxNameLen is the longest group or scope name, in bytes (an Erlang atom's
// limit).
const MaxNameLen = 255

// minMessageSize is the least MaxMessageSize: one entry of a longest group
// name and one member, with room to spare.
const minMessageSize = 1 << 10

// Config configures a scope. Start from DefaultConfig (or a zero Config).
//
// Zero values: a zero field means its documented default; Start rejects
// any other value out of range with an error wrapping ErrBadConfig that
// names the field.
type Config struct {
	// Scope names the group namespace. Scopes are independent: a group of
	// scope "a" and one of the same name in scope "b" have nothing in
	// common, and only the nodes running a scope exchange its membership.
	// Default DefaultScope; at most MaxNameLen bytes.
	Scope string
	// EventBuffer is the channel capacity of each subscription (Monitor,
	// MonitorScope). When a subscriber falls behind, the oldest event is
	// dropped and the next one delivered carries the count
	// (Event.Dropped). Default 256.
	EventBuffer int
	// MaxMessageSize bounds one message between scopes, in bytes; a larger
	// sync or join is split into several. It must stay below the
	// transport's MaxFrameSize (default 1 MiB) minus the frame header.
	// Default 64 KiB: large enough for thousands of members a message,
	// small enough not to delay other traffic on the connection. At least
	// 1 KiB.
	MaxMessageSize int
	// Logger; the scope logs through a child with component=pg and its
	// scope name. Default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Scope:          DefaultScope,
		EventBuffer:    256,
		MaxMessageSize: 64 << 10,
		Logger:         zerolog.Nop(),
	}
}

// validate checks c and fills zero fields with defaults.
func (c *Config) validate() error {
	d := DefaultConfig()
	if c.Scope == "" {
		c.Scope = d.Scope
	}
	if len(c.Scope) > MaxNameLen {
		return fmt.Errorf("%w: Scope name of %d bytes (max %d)", ErrBadConfig, len(c.Scope), MaxNameLen)
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = d.EventBuffer
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = d.MaxMessageSize
	}
	if c.EventBuffer < 0 {
		return fmt.Errorf("%w: EventBuffer %d is negative (0 = default)", ErrBadConfig, c.EventBuffer)
	}
	if c.MaxMessageSize < minMessageSize {
		return fmt.Errorf("%w: MaxMessageSize %d below %d", ErrBadConfig, c.MaxMessageSize, minMessageSize)
	}
	return nil
}

// ServiceName is the name under which a scope registers its service on
// each node ("placer.pg." + scope). Process names and service names share
// one namespace, so a scope cannot start where that name is taken.
func ServiceName(scope string) string { return "placer.pg." + scope }

// checkGroup returns ErrBadGroup unless group is a valid group name.
func checkGroup(group string) error {
	if group == "" || len(group) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes (1 to %d)", ErrBadGroup, len(group), MaxNameLen)
	}
	return nil
}
