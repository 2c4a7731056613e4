package membership

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// Config configures a Membership. Build it from DefaultConfig (or a zero
// Config), change what you need, and pass it to Start, which copies it: the
// caller's value (its slices and maps included) is never written to, and
// changing it after Start has no effect.
//
// Zero values: a zero field means its documented default; Start rejects
// any other value out of range with an error wrapping ErrBadConfig that
// names the field.
type Config struct {
	// NodeName is this node's placer name, "name@host", used unchanged as
	// its Serf node name. Required; unique in the cluster (Serf resolves a
	// duplicate by a vote and shuts the loser down). At most 128 bytes, no
	// '/' (memberlist uses "name/addr" in join strings) and no whitespace.
	NodeName string

	// BindAddr is the IP address the gossip listeners (UDP and TCP, same
	// port) bind to. Default ("") "127.0.0.1". Use a routable address, or
	// "0.0.0.0" with AdvertiseAddr, for multi-host clusters.
	BindAddr string
	// BindPort is the gossip port. Default 0: the kernel picks a free port
	// (the same number is then bound for both UDP and TCP, retried on a
	// collision), which is what in-process test clusters want; daemons
	// should fix it (Serf's conventional 7946) so that restarts keep their
	// address. GossipAddr reports the port in use.
	BindPort int
	// AdvertiseAddr is the IP address other members use to reach us.
	// Default "" = the bound address. Required when BindAddr is 0.0.0.0
	// and the host has several private addresses.
	AdvertiseAddr string
	// AdvertisePort is the port advertised with AdvertiseAddr. Default 0 =
	// the bound port.
	AdvertisePort int

	// TransportAddr is the address of this node's placer transport
	// (host:port), gossiped in a tag so that peers can dial it. Required
	// for a node that serves keys; may be empty for a pure observer.
	TransportAddr string
	// Weight is this node's relative capacity on the ring, gossiped in a
	// tag. Default (0) 1; range 1..MaxWeight (4096). Change it at run
	// time with SetWeight. An embedder that owns the weight (placement)
	// sets it; DefaultConfig leaves it 0.
	Weight int
	// ProtocolVersion is the placer protocol version this node speaks,
	// gossiped in a tag so that placement can refuse incompatible members.
	// Default (0) 1; at least 1. (Serf's own protocol version is not
	// this.) The embedder (placement) sets it; DefaultConfig leaves it 0.
	ProtocolVersion int
	// Tags are extra key/value tags gossiped with this node and reported in
	// Member.Tags. Keys "placer" and "placer.*" are reserved. The encoded
	// tags (these plus placer's own and their signature, about 130 bytes)
	// must fit memberlist's 512-byte metadata limit. Default none.
	Tags map[string]string

	// Cookie is the cluster secret (at least MinCookieLen bytes). The gossip
	// encryption key is derived from it (DeriveGossipKey), so nodes with
	// another cookie can neither join nor read the gossip; so is a second
	// key that signs every member's tags, so that holding the gossip key
	// alone never makes a member. Required. Never logged.
	Cookie []byte

	// Profile selects the timing: ProfileLAN (the default, also for "";
	// Serf's LAN defaults) or ProfileLocal (loopback clusters and tests: failures
	// seen in about 1 s). See ProfileTiming and docs/membership.md.
	Profile string

	// Join lists gossip addresses ("host:port", or "name/host:port") of
	// existing members to join at Start. Empty: start a new cluster (others
	// join us). Start tries them once synchronously and, if none answers,
	// keeps retrying in the background (RetryJoinInterval, RetryJoinMax).
	Join []string
	// RetryJoinInterval is the wait between background join attempts.
	// Default 1 s. Shorter finds a late seed sooner; every attempt dials
	// each address (bounded by the profile's TCP timeout).
	RetryJoinInterval time.Duration
	// RetryJoinMax is the number of join attempts, the first included,
	// before giving up (JoinError then reports ErrJoinExhausted). Default 0
	// = keep retrying until a join succeeds or Shutdown. 1 = no retry.
	RetryJoinMax int

	// SnapshotPath, if set, is a file where Serf records the members it
	// has seen and its Lamport clocks. A node restarted with the same name
	// and path re-joins the members it last knew by itself (even with an
	// empty Join list), and its clock continues where it stopped. Default
	// "" (no snapshot: a restarted node rejoins only through Join).
	SnapshotPath string
	// RejoinAfterLeave makes a node that left gracefully re-join its
	// snapshot's members on the next start too. Default false (Serf's
	// default: after a Leave only an explicit Join brings it back).
	RejoinAfterLeave bool

	// ReconcileInterval is how often the event loop re-reads Serf's member
	// list even without an event, to catch changes Serf does not announce
	// (a leave intent turning a member to "leaving", or an event the
	// snapshotter dropped). Default 1 s. Shorter costs a member-list copy
	// per tick.
	ReconcileInterval time.Duration

	// dampWindow, if set, replaces the profile's rejoin window (damp.go;
	// tests only).
	dampWindow time.Duration

	// Logger receives this package's logs (component "membership") and, at
	// debug level, everything Serf and memberlist print (component
	// "serf"). Default zerolog.Nop().
	Logger zerolog.Logger

	// Transport, if set, replaces memberlist's own UDP/TCP transport; it is
	// how tests inject a FaultTransport. BindAddr/BindPort are then unused
	// (the transport is already bound) and the advertised address comes
	// from Transport.FinalAdvertiseAddr. Start takes ownership: the
	// transport is shut down by Shutdown, or by Start if Start fails.
	// Default nil.
	Transport memberlist.Transport
}

// DefaultConfig returns a Config with the tunables' defaults filled in;
// NodeName and Cookie must still be set. The fields that identify the node
// to the embedder (TransportAddr, Weight, ProtocolVersion) are left zero:
// Start uses their defaults, or the embedder sets them.
func DefaultConfig() Config {
	return Config{
		BindAddr:          defaultBindAddr,
		Profile:           ProfileLAN,
		RetryJoinInterval: time.Second,
		ReconcileInterval: time.Second,
		Logger:            zerolog.Nop(),
	}
}

// The defaults of the fields DefaultConfig leaves zero.
const (
	defaultBindAddr        = "127.0.0.1"
	defaultWeight          = 1
	defaultProtocolVersion = 1
)

// fillDefaults replaces the zero fields that have a default.
func (c *Config) fillDefaults() {
	d := DefaultConfig()
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	if c.Profile == "" {
		c.Profile = d.Profile
	}
	if c.Weight == 0 {
		c.Weight = defaultWeight
	}
	if c.ProtocolVersion == 0 {
		c.ProtocolVersion = defaultProtocolVersion
	}
	if c.RetryJoinInterval == 0 {
		c.RetryJoinInterval = d.RetryJoinInterval
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = d.ReconcileInterval
	}
}

// clone returns a deep copy of c: slices and maps are not shared.
func (c Config) clone() Config {
	c.Tags = maps.Clone(c.Tags)
	c.Cookie = slices.Clone(c.Cookie)
	c.Join = slices.Clone(c.Join)
	return c
}

// maxNodeNameLen mirrors Serf's own limit on node names.
const maxNodeNameLen = 128

// validate fills the zero fields that have a default and checks c.
func (c *Config) validate() error {
	c.fillDefaults()
	checks := []func() error{
		c.validateName, c.validateAddrs, c.validateTags, c.validateTiming,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	if len(c.Cookie) < MinCookieLen {
		return fmt.Errorf("%w: Cookie: %d bytes, need at least %d", ErrBadConfig, len(c.Cookie), MinCookieLen)
	}
	_, err := lookupProfile(c.Profile)
	return err
}

func (c *Config) validateName() error {
	if err := validNodeName(c.NodeName); err != nil {
		return err
	}
	if err := validMemberName(c.NodeName); err != nil { // what every peer checks
		return fmt.Errorf("%w: NodeName: %w", ErrBadConfig, err)
	}
	return nil
}

// validNodeName checks the "name@host" form.
func validNodeName(name string) error {
	at := strings.IndexByte(name, '@')
	switch {
	case name == "":
		return fmt.Errorf("%w: NodeName is required", ErrBadConfig)
	case len(name) > maxNodeNameLen:
		return fmt.Errorf("%w: NodeName longer than %d bytes", ErrBadConfig, maxNodeNameLen)
	case at <= 0 || at == len(name)-1 || strings.Count(name, "@") != 1:
		return fmt.Errorf("%w: NodeName %q is not name@host", ErrBadConfig, name)
	case strings.ContainsAny(name, "/ \t\r\n"):
		return fmt.Errorf("%w: NodeName %q contains '/' or whitespace", ErrBadConfig, name)
	}
	return nil
}

func (c *Config) validateAddrs() error {
	if c.Transport == nil && net.ParseIP(c.BindAddr) == nil {
		return fmt.Errorf("%w: BindAddr %q is not an IP address", ErrBadConfig, c.BindAddr)
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		return fmt.Errorf("%w: AdvertiseAddr %q is not an IP address", ErrBadConfig, c.AdvertiseAddr)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"BindPort", c.BindPort}, {"AdvertisePort", c.AdvertisePort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("%w: %s %d out of range", ErrBadConfig, p.name, p.v)
		}
	}
	if err := validTransportAddr(c.TransportAddr); err != nil {
		return fmt.Errorf("%w: TransportAddr: %w", ErrBadConfig, err)
	}
	for _, j := range c.Join {
		if strings.TrimSpace(j) == "" {
			return fmt.Errorf("%w: empty Join address", ErrBadConfig)
		}
	}
	return nil
}

func (c *Config) validateTags() error {
	if c.Weight < 1 || c.Weight > MaxWeight {
		return fmt.Errorf("%w: Weight %d not in 1..%d", ErrBadConfig, c.Weight, MaxWeight)
	}
	if c.ProtocolVersion < 1 {
		return fmt.Errorf("%w: ProtocolVersion %d, need at least 1", ErrBadConfig, c.ProtocolVersion)
	}
	if err := checkExtraTags(c.Tags); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	sized := buildTags(c.TransportAddr, c.Weight, c.ProtocolVersion, c.Tags)
	sized[TagSignature] = strings.Repeat("s", sigLen) // the signature's size
	if err := checkTagSize(sized); err != nil {
		return fmt.Errorf("%w: Tags: %w", ErrBadConfig, err)
	}
	return nil
}

func (c *Config) validateTiming() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"RetryJoinInterval", c.RetryJoinInterval}, {"ReconcileInterval", c.ReconcileInterval}} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s %v is negative (0 = default)", ErrBadConfig, d.name, d.v)
		}
	}
	if c.RetryJoinMax < 0 {
		return fmt.Errorf("%w: RetryJoinMax %d is negative", ErrBadConfig, c.RetryJoinMax)
	}
	return nil
}
