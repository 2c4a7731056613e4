package placement

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/ring"
	"github.com/placerhq/placer/transport"
)

// MaxKeyLen is the longest kind or key, in bytes.
const MaxKeyLen = 4096

// Config configures a cluster node. Start from DefaultConfig (or a zero
// Config) and set Name, Cookie, Kinds and, to join an existing cluster,
// Membership.Join. Start copies the Config (its maps and slices included):
// changing it afterwards has no effect, and Start never writes to it.
//
// Zero values: a zero field means its documented default; Start rejects
// any other value out of range with an error wrapping ErrBadConfig that
// names the field. The nested Node and Membership configs follow their
// own packages' rule, except for the fields placement sets itself: those
// must be left zero (or hold exactly the value placement gives them), or
// Start fails with ErrBadConfig naming the field. Nothing the caller sets
// is ever overwritten.
type Config struct {
	// Name is the node name, "name@host": the placer node name and the
	// Serf node name. Required.
	Name string
	// Cookie is the cluster secret, at least membership.MinCookieLen (32)
	// bytes: it authenticates the transport handshake and the gossip key is
	// derived from it. Required (unless Transport is set and
	// Membership.Cookie is given). Never logged.
	Cookie []byte

	// ListenAddr is the placer transport's "host:port" (TCP). Default
	// "127.0.0.1:0" (a free loopback port); use a routable address for a
	// multi-host cluster. Ignored when Transport is set.
	ListenAddr string
	// PortMin and PortMax, when PortMin > 0, make the transport listen on
	// the first free port in [PortMin, PortMax] of ListenAddr's host,
	// ignoring ListenAddr's port: Erlang's inet_dist_listen_min/max, for
	// firewalls that open a known range. PortMax 0 means PortMin. Default
	// 0 (ListenAddr as given). Range 1..65535. Not allowed with Transport.
	PortMin, PortMax int
	// TLS, if set, wraps every transport connection in mutual TLS 1.3 (see
	// transport.TLSFromFiles). Default nil (plain TCP, cookie-authenticated).
	// Not allowed with Transport.
	TLS *tls.Config
	// Resolve, if set, finds the transport address of a node that neither
	// the gossip nor SetAddr has given (the names directory of
	// placement/agent/names, playing epmd's role, is one). It is called
	// from transport goroutines and must not block long. Default nil: only
	// gossiped addresses are used. Not allowed with Transport.
	Resolve func(node string) (addr string, err error)
	// Transport, if set, creates the node's wire instead of a TCP listener
	// on ListenAddr: tests pass an in-memory transport (transport/memnet).
	// The address gossiped to peers is then the transport's Addr().
	// Default nil: the TCP transport built from ListenAddr, PortMin,
	// PortMax, TLS and Resolve (see node.TCP).
	Transport node.TransportFactory

	// Node holds the node runtime's tunables (MailboxSize, Codec,
	// CallTimeout, HandoffGrace, ...), and Kinds is added to Node.Kinds.
	// Placement owns Node.Name (leave it empty or equal to Name),
	// Node.Transport (leave it nil: set Transport) and Node.Hidden (leave
	// it false: a member is never hidden); a kind of Kinds must not also
	// be in Node.Kinds (keyed kinds go in Kinds only). Anything else is
	// refused with ErrBadConfig. Node.Logger, unless it is zero or
	// disabled (zerolog.Nop()), is the runtime's logger instead of Logger.
	// Default node.DefaultConfig().
	Node node.Config
	// Membership holds the gossip settings (BindAddr, BindPort, Join,
	// Profile, ReconcileInterval, SnapshotPath, Tags, Transport for tests).
	// Placement owns NodeName (leave it empty or equal to Name), Cookie
	// (empty or equal to Cookie), TransportAddr (empty: the transport's
	// address is gossiped), Weight (0 or equal to Weight: set Weight),
	// ProtocolVersion (0 or placement's own) and the tag keys "placement"
	// and "placement.*"; anything else is refused with ErrBadConfig.
	// Membership.Logger, unless zero or disabled, is used instead of Logger.
	// Default membership.DefaultConfig() (profile "lan": use
	// membership.ProfileLocal for loopback clusters).
	Membership membership.Config
	// JoinTimeout is how long Start waits for the first successful join
	// when Membership.Join is not empty, so that the node does not create
	// keys that already live elsewhere before it knows the cluster. If the
	// join has not succeeded by then, Start returns anyway (with a warning;
	// membership keeps retrying). Until the first join succeeds (or another
	// member joins this node) the node owns no keys: its view is empty and
	// routed requests fail with ErrNoMembers, so a joiner that cannot
	// reach its cluster never serves keys from a one-node island (see
	// Bootstrap). Default (0) 10 s; a negative value means do not wait.
	JoinTimeout time.Duration
	// CheckMessage, if set, is asked by the placer.send admin rpc (the
	// Client, the placer CLI) before a message is routed: a message the
	// kind would drop (a counter sent "abc") is then refused with
	// ErrBadRequest instead of reported sent. It must be fast and pure.
	// A kind that is not registered on the agent is refused with
	// ErrUnknownKind either way. Default nil.
	CheckMessage func(kind string, payload []byte) error
	// Bootstrap lets a node with a Membership.Join list own keys before
	// the join succeeds: it may start a new cluster (the first of several
	// nodes that share one seed list). Without a join list a node always
	// starts a new cluster. Default false.
	Bootstrap bool

	// KindSpecs configure kinds of Kinds beyond their factory: replication
	// (KindSpec.Replicas, sync or async). A kind without an entry has R = 1.
	// Default none.
	KindSpecs map[string]KindSpec

	// Kinds are the keyed process kinds: for a {kind, key}, the process
	// started on the key's owner is of this kind, with the key as its Init
	// args. A kind that implements node.StateExporter and
	// node.StateImporter keeps its state across handoffs; others restart
	// fresh on the new owner. Every node of a cluster must register the
	// same kinds. Required to route to a kind; default none.
	Kinds map[string]node.KindFactory

	// VNodes is the number of virtual nodes per unit of weight on the ring
	// (ring.Config.VNodes). Default ring.DefaultVNodes (1024): keys split
	// within about 2% of the weights. Every node must use the same value
	// (it is part of the view checksum).
	VNodes int
	// Weight is this node's relative share of the keys, gossiped to the
	// others. Default 1; range 1..ring.MaxWeight.
	Weight int
	// Strategy places keys on members: StrategyRing (the vnode ring; the
	// default) or StrategyBounded (bounded loads over fixed partitions:
	// peak load at most LoadFactor times a member's share, lookups one
	// table read at any size). Every member must use the same strategy and
	// parameters (Strategy, VNodes, LoadFactor, PartitionBits): they are
	// gossiped with the member, the ring is built with the choice of most
	// alive members, and a member that disagrees is kept out of the ring
	// (it owns no keys, still routes) with an error log line on it and a
	// warning on the others (View.Excluded). Default StrategyRing.
	Strategy string
	// LoadFactor is the bounded strategy's c: no member holds more than c
	// times its share of the partitions. Lower evens the load and moves
	// more keys on a change. Default 1.25; range (1, 10].
	LoadFactor float64
	// PartitionBits: the bounded strategy cuts the hash space into
	// 2^PartitionBits partitions (its unit of balance; 4 bytes each in the
	// owner table). Default 16; range 1..22.
	PartitionBits int

	// Quorum turns on quorum mode: while this node's side of the cluster
	// does not hold a strict majority of the last full membership (see
	// membership.Quorum), routed requests fail with ErrNoQuorum instead of
	// creating keys that may also live on the other side. Default false:
	// availability first, duplicates are resolved at heal.
	Quorum bool
	// QuorumSize is the expected cluster size in quorum mode: routed
	// requests are refused until the last full membership holds at least
	// this many members. 0 (the default) instead waits for the first
	// successful join (a node with an empty Membership.Join, the seed,
	// counts as joined at once).
	QuorumSize int

	// MaxHops bounds how many times a routed request is forwarded by nodes
	// whose view says someone else owns the key. Default (0) 2: enough for
	// one stale sender plus one stale forwarder; NoForwarding (-1)
	// disables forwarding (a non-owner answers ErrNotOwner at once). Range
	// -1..16.
	MaxHops int
	// MigrationBudget is the number of handoffs this node runs at once
	// (as old owner). Default 64. Higher drains faster; lower spreads the
	// load of a large rebalance (a join into a big cluster) over time.
	MigrationBudget int
	// HandoffTimeout bounds one handoff: how long the old owner keeps
	// retrying a new owner that does not yet see itself as the owner (and
	// then thaws the process and leaves it to the next reconcile), and how
	// long a new owner waits for the old owner's push before starting the
	// process fresh. Default 5 s.
	HandoffTimeout time.Duration
	// ReconcileInterval is how often every hosted key is checked against
	// the current view (a full plan), to retry handoffs that failed or
	// were skipped. Default 1 s. Shorter repairs sooner at the cost of one
	// ring lookup per hosted key per tick.
	ReconcileInterval time.Duration
	// PullWindow is how long after a view change a new owner still asks
	// the key's previous owners whether they host it before starting it
	// fresh (one round trip on first use of a key). Default 10 s: well
	// beyond the time the old owners need to push what they host.
	PullWindow time.Duration
	// BufferSize bounds the requests buffered per key while it is in
	// transition (starting, pulling, importing, moving). Beyond it, sends
	// are dropped (counted in Stats.Dropped) and calls fail with ErrBusy.
	// Default 4096.
	BufferSize int
	// DrainTimeout bounds Leave when its ctx has no deadline. Default 30 s.
	DrainTimeout time.Duration

	// Conflict is called, on the events goroutine (never under a lock),
	// when a heal finds a key live on two nodes: the heal-time owner keeps
	// its process and the other copy's exported state (nil if its kind does
	// not export) is handed to Conflict on the winner's node, for example
	// to send a merge message to the key. Default nil: the loser's state is
	// dropped (an EventConflict names what was dropped).
	Conflict func(Conflict)
	// Events, if set, receives every Event, in order, on one goroutine that
	// the cluster runs for it: it may block without stalling the cluster,
	// but events queue meanwhile (at most 4096; older ones are then dropped
	// and counted in Stats.EventsDropped). Default nil.
	Events func(Event)

	// Logger receives the cluster's logs (component "placement"; the node
	// and membership log through their own children). Default zerolog.Nop().
	Logger zerolog.Logger

	// Static turns gossip off: no Serf runs, and the node's view is what
	// SetStaticView last installed (none at Start: routed requests fail
	// with ErrNoMembers until the first; give a joining node its view
	// before the others route to it).
	// Every node must be given the same members, in the same order of
	// events, for routing to agree. For tests of kinds without gossip
	// (placement/placementtest) and for deployments whose members an
	// orchestrator knows. Membership is ignored. Default false.
	Static bool
}

// NoForwarding as Config.MaxHops disables forwarding: a node that does not
// own a key answers ErrNotOwner at once.
const NoForwarding = -1

// Defaults of the fields whose zero value means something else inside.
const (
	defaultMaxHops     = 2
	defaultJoinTimeout = 10 * time.Second
)

// DefaultConfig returns a Config with every default filled in; Name,
// Cookie and Kinds must still be set.
func DefaultConfig() Config {
	return Config{
		ListenAddr:        "127.0.0.1:0",
		Node:              node.DefaultConfig(),
		Membership:        membership.DefaultConfig(),
		JoinTimeout:       defaultJoinTimeout,
		VNodes:            ring.DefaultVNodes,
		Weight:            1,
		Strategy:          StrategyRing,
		LoadFactor:        ring.DefaultBoundedConfig().LoadFactor,
		PartitionBits:     ring.DefaultBoundedConfig().PartitionBits,
		MaxHops:           defaultMaxHops,
		MigrationBudget:   64,
		HandoffTimeout:    5 * time.Second,
		ReconcileInterval: time.Second,
		PullWindow:        10 * time.Second,
		BufferSize:        4096,
		DrainTimeout:      30 * time.Second,
		Logger:            zerolog.Nop(),
	}
}

// clone returns a copy of c that shares no map or slice with it.
func (c Config) clone() Config {
	c.Cookie = slices.Clone(c.Cookie)
	c.Kinds = maps.Clone(c.Kinds)
	c.KindSpecs = maps.Clone(c.KindSpecs)
	c.Node.Kinds = maps.Clone(c.Node.Kinds)
	c.Node.RPCs = maps.Clone(c.Node.RPCs)
	c.Membership.Join = slices.Clone(c.Membership.Join)
	c.Membership.Tags = maps.Clone(c.Membership.Tags)
	c.Membership.Cookie = slices.Clone(c.Membership.Cookie)
	return c
}

// validate checks c; zero durations and sizes get their defaults.
func (c *Config) validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: Name is required", ErrBadConfig)
	}
	if len(c.Cookie) < membership.MinCookieLen {
		// A Transport factory holds its own cookie; gossip needs one too
		// unless it is off (Static) or has its own (Membership.Cookie).
		if c.Transport == nil || (!c.Static && len(c.Membership.Cookie) < membership.MinCookieLen) {
			return fmt.Errorf("%w: Cookie must be at least %d bytes", ErrBadConfig, membership.MinCookieLen)
		}
	}
	c.fillDefaults()
	for _, check := range []func() error{c.validateRanges, c.validateKinds, c.validateSpecs, c.validateTransport, c.validateNested} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) fillDefaults() {
	d := DefaultConfig()
	setDefault(&c.ListenAddr, d.ListenAddr)
	setDefault(&c.VNodes, d.VNodes)
	setDefault(&c.Weight, d.Weight)
	setDefault(&c.Strategy, d.Strategy)
	setDefault(&c.LoadFactor, d.LoadFactor)
	setDefault(&c.PartitionBits, d.PartitionBits)
	setDefault(&c.MigrationBudget, d.MigrationBudget)
	setDefault(&c.HandoffTimeout, d.HandoffTimeout)
	setDefault(&c.ReconcileInterval, d.ReconcileInterval)
	setDefault(&c.PullWindow, d.PullWindow)
	setDefault(&c.BufferSize, d.BufferSize)
	setDefault(&c.DrainTimeout, d.DrainTimeout)
	setDefault(&c.MaxHops, d.MaxHops)
	setDefault(&c.JoinTimeout, d.JoinTimeout)
}

// setDefault sets *p to d if it is the zero value.
func setDefault[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}

func (c *Config) validateRanges() error {
	if err := specOf(c).validate(); err != nil {
		return err
	}
	switch {
	case c.VNodes < 1 || c.VNodes > ring.MaxVNodes:
		return fmt.Errorf("%w: VNodes %d not in 1..%d", ErrBadConfig, c.VNodes, ring.MaxVNodes)
	case c.Weight < 1 || c.Weight > ring.MaxWeight:
		return fmt.Errorf("%w: Weight %d not in 1..%d", ErrBadConfig, c.Weight, ring.MaxWeight)
	case c.MaxHops < NoForwarding || c.MaxHops > 16:
		return fmt.Errorf("%w: MaxHops %d not in -1..16 (-1: NoForwarding)", ErrBadConfig, c.MaxHops)
	case c.QuorumSize < 0:
		return fmt.Errorf("%w: QuorumSize %d is negative", ErrBadConfig, c.QuorumSize)
	case c.MigrationBudget < 1:
		return fmt.Errorf("%w: MigrationBudget %d is negative (0 = default)", ErrBadConfig, c.MigrationBudget)
	case c.BufferSize < 1:
		return fmt.Errorf("%w: BufferSize %d is negative (0 = default)", ErrBadConfig, c.BufferSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"HandoffTimeout", c.HandoffTimeout}, {"ReconcileInterval", c.ReconcileInterval},
		{"PullWindow", c.PullWindow}, {"DrainTimeout", c.DrainTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s %v is negative (0 = default)", ErrBadConfig, d.name, d.v)
		}
	}
	return nil
}

func (c *Config) validateKinds() error {
	for name, f := range c.Kinds {
		if err := checkName("kind", name); err != nil {
			return fmt.Errorf("%w: %w", ErrBadConfig, err)
		}
		if f == nil {
			return fmt.Errorf("%w: kind %q has no factory", ErrBadConfig, name)
		}
	}
	return nil
}

// checkName checks a kind or key.
func checkName(what, s string) error {
	if s == "" || len(s) > MaxKeyLen {
		return fmt.Errorf("%w: %s of %d bytes (1..%d)", ErrBadKey, what, len(s), MaxKeyLen)
	}
	if what == "kind" && strings.ContainsAny(s, "\x00") {
		return fmt.Errorf("%w: kind %q contains NUL", ErrBadKey, s)
	}
	return nil
}

// validateTransport checks the TCP settings: a port range, and no TCP
// setting beside a Transport factory (it would be ignored).
func (c *Config) validateTransport() error {
	switch {
	case c.PortMin < 0 || c.PortMin > 65535 || c.PortMax < 0 || c.PortMax > 65535:
		return fmt.Errorf("%w: PortMin %d / PortMax %d not in 1..65535", ErrBadConfig, c.PortMin, c.PortMax)
	case c.PortMax > 0 && c.PortMax < c.PortMin, c.PortMax > 0 && c.PortMin == 0:
		return fmt.Errorf("%w: PortMax %d needs PortMin in 1..PortMax (PortMin %d)", ErrBadConfig, c.PortMax, c.PortMin)
	case c.Transport != nil && (c.PortMin != 0 || c.PortMax != 0 || c.TLS != nil || c.Resolve != nil):
		return fmt.Errorf("%w: PortMin, PortMax, TLS and Resolve configure the TCP transport; they cannot go with Transport", ErrBadConfig)
	}
	return nil
}

// validateNested refuses a nested Node or Membership field that placement
// sets itself, unless it is zero or already holds placement's value: the
// caller set it, so overwriting it silently would surprise them.
func (c *Config) validateNested() error {
	n, m := &c.Node, &c.Membership
	switch {
	case n.Name != "" && n.Name != c.Name:
		return fmt.Errorf("%w: Node.Name %q differs from Name %q (leave it empty)", ErrBadConfig, n.Name, c.Name)
	case n.Transport != nil:
		return fmt.Errorf("%w: Node.Transport is set: use Config.Transport", ErrBadConfig)
	case n.Hidden:
		return fmt.Errorf("%w: Node.Hidden: a cluster member is never hidden (use a Client)", ErrBadConfig)
	case m.NodeName != "" && m.NodeName != c.Name:
		return fmt.Errorf("%w: Membership.NodeName %q differs from Name %q (leave it empty)", ErrBadConfig, m.NodeName, c.Name)
	case m.TransportAddr != "":
		return fmt.Errorf("%w: Membership.TransportAddr is set: Start gossips the transport's own address (leave it empty)", ErrBadConfig)
	case m.Weight != 0 && m.Weight != c.Weight:
		return fmt.Errorf("%w: Membership.Weight %d differs from Weight %d: set Weight (leave Membership.Weight 0)", ErrBadConfig, m.Weight, c.Weight)
	case m.ProtocolVersion != 0 && m.ProtocolVersion != protocolVersion:
		return fmt.Errorf("%w: Membership.ProtocolVersion %d: placement speaks %d (leave it 0)", ErrBadConfig, m.ProtocolVersion, protocolVersion)
	case len(c.Cookie) > 0 && len(m.Cookie) > 0 && !bytes.Equal(c.Cookie, m.Cookie):
		return fmt.Errorf("%w: Membership.Cookie differs from Cookie (leave it empty)", ErrBadConfig)
	}
	for k := range m.Tags {
		if placementTag(k) {
			return fmt.Errorf("%w: Membership.Tags[%q]: the keys %q and %q are placement's", ErrBadConfig, k, tagNamespace, tagNamespace+".*")
		}
	}
	for k := range n.Kinds {
		if _, dup := c.Kinds[k]; dup {
			return fmt.Errorf("%w: Node.Kinds[%q] is also in Kinds: a keyed kind goes in Kinds only", ErrBadConfig, k)
		}
	}
	return nil
}

// tagNamespace is placement's part of the membership tag keys: it gossips
// tagStrategy and tagDraining under it, and the caller's Membership.Tags
// may not use it.
const tagNamespace = "placement"

// placementTag reports whether k is in placement's tag namespace.
func placementTag(k string) bool {
	return k == tagNamespace || strings.HasPrefix(k, tagNamespace+".")
}

// loggerSet reports whether l was set to a logger that writes somewhere:
// not the zero Logger and not zerolog.Nop().
func loggerSet(l zerolog.Logger) bool {
	return l.GetLevel() != zerolog.Disabled && !reflect.ValueOf(l).IsZero()
}

// orLogger is l if it is set (see loggerSet), else def.
func orLogger(l, def zerolog.Logger) zerolog.Logger {
	if loggerSet(l) {
		return l
	}
	return def
}

// tcpTransport is the default transport: TCP on ListenAddr (or the first
// free port of PortMin..PortMax), with TLS and Resolve.
// TCPTransport returns the TCP transport factory Start builds when
// Transport is nil, from ListenAddr, PortMin, PortMax, TLS, Resolve and
// Cookie: for a caller that wraps it (fault injection, instrumentation)
// and passes the wrapper as Transport.
func (c Config) TCPTransport() node.TransportFactory {
	return c.tcpTransport(orLogger(c.Node.Logger, c.Logger))
}

func (c *Config) tcpTransport(log zerolog.Logger) node.TransportFactory {
	tc := transport.DefaultConfig()
	tc.Cookie, tc.ListenAddr, tc.PortMin, tc.PortMax = c.Cookie, c.ListenAddr, c.PortMin, c.PortMax
	tc.TLS, tc.Resolve, tc.Logger = c.TLS, c.Resolve, log
	return node.TCP(tc)
}

// nodeConfig builds the node runtime's config from c (node.New fills the
// zero tunables with its defaults).
func (c *Config) nodeConfig(factory node.TransportFactory, log zerolog.Logger, kinds map[string]node.KindFactory) node.Config {
	nc := c.Node
	nc.Name, nc.Transport, nc.Hidden, nc.Logger = c.Name, factory, false, orLogger(nc.Logger, log)
	nc.Kinds = maps.Clone(nc.Kinds)
	if nc.Kinds == nil {
		nc.Kinds = map[string]node.KindFactory{}
	}
	maps.Copy(nc.Kinds, kinds)
	return nc
}

// gossipTags are the membership tags this node gossips: the caller's
// (Membership.Tags), its strategy spec, and the draining mark.
func (c *Config) gossipTags(draining bool) map[string]string {
	tags := maps.Clone(c.Membership.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[tagStrategy] = specOf(c).String()
	if draining {
		tags[tagDraining] = "1"
	}
	return tags
}

// membershipConfig builds the membership config from c: the fields
// placement owns (validateNested checked that they are zero or already
// hold these values); membership fills its own zero fields.
func (c *Config) membershipConfig(transportAddr string, log zerolog.Logger) membership.Config {
	mc := c.Membership
	mc.NodeName, mc.TransportAddr, mc.Weight, mc.Logger = c.Name, transportAddr, c.Weight, orLogger(mc.Logger, log)
	mc.Tags = c.gossipTags(false)
	mc.ProtocolVersion = protocolVersion
	if len(c.Cookie) > 0 {
		mc.Cookie = c.Cookie
	}
	return mc
}
