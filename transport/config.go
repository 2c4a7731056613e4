package transport

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Config configures a TCP Endpoint. Start from DefaultConfig (or a zero
// Config) and set Name, Cookie and ListenAddr. Listen copies the Config;
// changing it afterwards has no effect.
//
// Zero values: a zero field means its documented default (for the
// tunables, DefaultConfig's value); Listen rejects any other value out of
// range with an error wrapping ErrBadConfig that names the field.
type Config struct {
	// Name is this node's name, "name@host". Required.
	Name string
	// Cookie is the shared secret proven in every handshake. Required;
	// use at least 32 random bytes. It never crosses the wire and is never
	// logged.
	Cookie []byte
	// CookieFor optionally overrides the cookie for one peer (Erlang's
	// Node.set_cookie/2). A nil result means Cookie. Called during
	// handshakes, from several goroutines at once; it must not block.
	CookieFor func(peer string) []byte
	// Hidden announces this node as hidden (CLI tools, observers). Peers
	// see it in PeerInfo.Hidden; the transport treats hidden peers like
	// any other.
	Hidden bool
	// Creation is this node's incarnation, sent in the handshake so peers
	// can tell a restarted node from the old one.
	Creation uint32

	// ListenAddr is the "host:port" to accept connections on
	// ("127.0.0.1:0" picks a free port). Empty means dial-only: no
	// listener, as for CLI tools.
	ListenAddr string
	// PortMin and PortMax, when PortMin > 0, make Listen use the first free
	// port in [PortMin, PortMax] on ListenAddr's host, ignoring its port
	// (Erlang's inet_dist_listen_min/max). PortMax 0 means PortMin.
	PortMin, PortMax int
	// TLS, if non-nil, wraps every connection in TLS. The transport
	// enforces TLS 1.3 and requires and verifies client certificates on a
	// copy of this config; see TLSFromFiles. Nil means plain TCP.
	TLS *tls.Config
	// Resolve optionally finds a node's address when SetAddr has not
	// recorded one. Nil means only SetAddr addresses are used; an unknown
	// node then fails with ErrUnknownNode (wrapped in ErrNoConnection).
	Resolve func(node string) (string, error)
	// Logger receives the endpoint's logs (a child logger with
	// component=transport). Default: zerolog.Nop().
	Logger zerolog.Logger

	// MaxFrameSize is the largest frame body, in bytes, this node accepts;
	// peers learn it in the handshake and never send more. Larger frames
	// cost more memory per connection. Default 1 MiB; range 1 KiB–1 GiB.
	MaxFrameSize int
	// FragmentSize is the largest frame, in bytes, sent whole on the
	// priority lane, and the data size of each fragment of a larger one.
	// Smaller values let small frames overtake a bulk transfer sooner, at
	// more headers and writes. Default 32 KiB (MaxFrameSize if that is
	// smaller); range 1 KiB–MaxFrameSize.
	FragmentSize int
	// BulkWindow is the flow-control window, in bytes, this node grants
	// each peer for fragments of large frames: at most this much bulk data
	// is in flight (in socket buffers, unprocessed) towards us, so a small
	// frame never queues behind more than this. Larger windows raise bulk
	// throughput on long round trips (throughput ≤ window / RTT); smaller
	// ones cut the delay bulk adds to small frames. Default 64 KiB (about
	// 640 MB/s at a 0.1 ms round trip, 64 MB/s at 1 ms); range 2 KiB–1 GiB.
	BulkWindow int
	// MaxQueueBytes bounds the encoded bytes queued on one connection's
	// two lanes. A Send that does not fit blocks until there is room or
	// its context ends (ErrQueueFull); one frame is always admitted into
	// an empty queue. Default 8 MiB; minimum 64 KiB.
	MaxQueueBytes int
	// HandshakeTimeout is the absolute deadline for TCP connect, TLS and
	// the handshake of one connection. Default 5 s.
	HandshakeTimeout time.Duration
	// DialTimeout bounds the TCP connect alone (within HandshakeTimeout).
	// Default 3 s.
	DialTimeout time.Duration
	// MaxPendingHandshakes caps inbound connections that have not yet
	// authenticated, in connections. At the cap a new connection takes the
	// place of the oldest pending one that is waiting for its peer (a
	// silent one first, then one stuck after its Hello), never of one from
	// a known member's address unless it comes from one itself; if none can
	// go, the new one is closed at once (Stats.InboundRefusedBusy). Each
	// pending connection holds a goroutine and a 4 KiB read buffer (about
	// 16 KiB with kernel state; more with TLS), so the cap bounds what
	// unauthenticated peers cost. A larger cap gives a legitimate dialer
	// more time to finish its handshake under a flood (it is displaced only
	// after this many newer connections arrived while it still waits) at
	// that price per slot. 0 means the default, 256.
	MaxPendingHandshakes int
	// MaxPendingPerHost caps pending inbound connections from one IP
	// address that is not a known member's (see below), in connections. At
	// the cap a new connection from that address takes the place of its
	// own oldest waiting one, or is closed (Stats.InboundRefusedPerHost),
	// so one flooding host only ever competes with itself. Smaller values
	// isolate hosts better but limit how many nodes behind one NAT address
	// can connect at the same instant. 0 means the default, 64.
	//
	// Known members' addresses are the IP addresses of SetAddr entries and
	// of connected peers: connections from them are exempt from this cap
	// and are never displaced by connections from other addresses.
	MaxPendingPerHost int
	// HelloTimeout is how long an inbound connection may take to send each
	// handshake message it owes: its TLS handshake and Hello from accept,
	// its Auth from our Challenge, its Confirm from our AuthAck (all
	// within HandshakeTimeout). A silent or slow-loris connection is closed
	// after it (Stats.InboundTimedOut). Shorter frees slots sooner under a
	// flood; it must exceed a round trip (two with TLS) plus the dialer's
	// scheduling delay, or distant peers cannot connect. 0 means the
	// default, 1 s.
	HelloTimeout time.Duration
	// HeartbeatInterval is how long a connection may stay idle before a
	// heartbeat frame is sent. Default 500 ms.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout closes a connection on which nothing at all was
	// received for this long (ErrHeartbeatTimeout); it is detected between
	// 7/8 of it and all of it. Shorter values detect dead peers sooner but
	// risk false alarms under load (a handler blocking this long also
	// trips it). Must exceed 2 × HeartbeatInterval. Default 2 s, or 4 ×
	// HeartbeatInterval if that is longer.
	HeartbeatTimeout time.Duration
	// WriteTimeout closes a connection whose socket write cannot complete
	// for this long (the peer stopped reading); blocked senders then fail
	// with ErrNoConnection. Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the graceful part of Close: each connection may
	// take this long to hand what is queued to the socket and then, after
	// it half-closed (a FIN behind the data), to see the peer close its
	// side, so that the peer reads every frame sent before Close instead
	// of losing the tail to a reset. Past it the connection closes at once.
	// Longer protects slow peers' tails at the price of a slower Close.
	// 0 means the default, 1 s.
	CloseTimeout time.Duration

	hooks *testHooks // test-only interleaving hooks; nil outside tests
	rand  io.Reader  // nonce source; nil means crypto/rand
}

// testHooks lets tests pause handshakes at chosen points.
type testHooks struct {
	beforeAuth func(peer string) // dialer: Challenge verified, Auth not yet sent
}

// DefaultConfig returns a Config with every tunable at its default and no
// name, cookie or address. (A zero tunable means the same default: see
// Config.)
func DefaultConfig() Config {
	return Config{
		Logger:               zerolog.Nop(),
		MaxFrameSize:         defaultMaxFrame,
		FragmentSize:         defaultFragment,
		BulkWindow:           defaultBulkWindow,
		MaxQueueBytes:        defaultMaxQueue,
		HandshakeTimeout:     defaultHandshake,
		DialTimeout:          defaultDial,
		MaxPendingHandshakes: defaultMaxPending,
		MaxPendingPerHost:    defaultMaxPerHost,
		HelloTimeout:         defaultHelloTimeout,
		HeartbeatInterval:    defaultHeartbeat,
		HeartbeatTimeout:     defaultHeartbeatTimeout,
		WriteTimeout:         defaultWriteTimeout,
		CloseTimeout:         defaultCloseTimeout,
	}
}

// The defaults of the tunables (zero in a Config means these).
const (
	defaultMaxFrame         = 1 << 20
	defaultFragment         = 32 << 10
	defaultBulkWindow       = 64 << 10
	defaultMaxQueue         = 8 << 20
	defaultHandshake        = 5 * time.Second
	defaultDial             = 3 * time.Second
	defaultMaxPending       = 256
	defaultMaxPerHost       = 64
	defaultHelloTimeout     = time.Second
	defaultHeartbeat        = 500 * time.Millisecond
	defaultHeartbeatTimeout = 2 * time.Second
	defaultWriteTimeout     = 10 * time.Second
	defaultCloseTimeout     = time.Second
)

// fillDefaults replaces every zero tunable with its default. Two defaults
// follow other fields: FragmentSize is at most MaxFrameSize, and
// HeartbeatTimeout at least 4 × HeartbeatInterval.
func (c *Config) fillDefaults() {
	setDefault(&c.MaxFrameSize, defaultMaxFrame)
	setDefault(&c.FragmentSize, min(defaultFragment, c.MaxFrameSize))
	setDefault(&c.BulkWindow, defaultBulkWindow)
	setDefault(&c.MaxQueueBytes, defaultMaxQueue)
	setDefault(&c.HandshakeTimeout, defaultHandshake)
	setDefault(&c.DialTimeout, defaultDial)
	setDefault(&c.MaxPendingHandshakes, defaultMaxPending)
	setDefault(&c.MaxPendingPerHost, defaultMaxPerHost)
	setDefault(&c.HelloTimeout, defaultHelloTimeout)
	setDefault(&c.HeartbeatInterval, defaultHeartbeat)
	setDefault(&c.HeartbeatTimeout, max(defaultHeartbeatTimeout, 4*c.HeartbeatInterval))
	setDefault(&c.WriteTimeout, defaultWriteTimeout)
	setDefault(&c.CloseTimeout, defaultCloseTimeout)
}

// setDefault sets *p to d if it is zero.
func setDefault[T int | time.Duration](p *T, d T) {
	if *p == 0 {
		*p = d
	}
}

// validate checks c once fillDefaults ran; errors wrap ErrBadConfig and
// name the field.
func (c *Config) validate() error {
	if err := ValidateName(c.Name); err != nil {
		return fmt.Errorf("%w: Name: %w", ErrBadConfig, err)
	}
	if len(c.Cookie) == 0 {
		return fmt.Errorf("%w: Cookie is required", ErrBadConfig)
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetClientCertificate == nil {
		return fmt.Errorf("%w: TLS has no certificate (mutual TLS needs one on both sides)", ErrBadConfig)
	}
	if err := c.validatePorts(); err != nil {
		return err
	}
	if err := c.validateSizes(); err != nil {
		return err
	}
	return c.validateTimes()
}

func (c *Config) validatePorts() error {
	if c.PortMin == 0 && c.PortMax == 0 {
		return nil
	}
	if c.ListenAddr == "" {
		return fmt.Errorf("%w: PortMin/PortMax need ListenAddr for the host", ErrBadConfig)
	}
	if c.PortMin < 1 || c.PortMin > 65535 || c.PortMax < c.PortMin || c.PortMax > 65535 {
		return fmt.Errorf("%w: port range PortMin %d..PortMax %d is invalid", ErrBadConfig, c.PortMin, c.PortMax)
	}
	return nil
}

func (c *Config) validateSizes() error {
	switch {
	case c.MaxFrameSize < 1<<10 || c.MaxFrameSize > 1<<30:
		return fmt.Errorf("%w: MaxFrameSize %d out of range [1 KiB, 1 GiB]", ErrBadConfig, c.MaxFrameSize)
	case c.FragmentSize < 1<<10 || c.FragmentSize > c.MaxFrameSize:
		return fmt.Errorf("%w: FragmentSize %d out of range [1 KiB, MaxFrameSize]", ErrBadConfig, c.FragmentSize)
	case c.BulkWindow < minPeerWindow || c.BulkWindow > maxPeerWindow:
		return fmt.Errorf("%w: BulkWindow %d out of range [2 KiB, 1 GiB]", ErrBadConfig, c.BulkWindow)
	case c.MaxQueueBytes < 64<<10:
		return fmt.Errorf("%w: MaxQueueBytes %d below 64 KiB", ErrBadConfig, c.MaxQueueBytes)
	case c.MaxPendingHandshakes < 1:
		return fmt.Errorf("%w: MaxPendingHandshakes %d is negative (0 = default)", ErrBadConfig, c.MaxPendingHandshakes)
	case c.MaxPendingPerHost < 1:
		return fmt.Errorf("%w: MaxPendingPerHost %d is negative (0 = default)", ErrBadConfig, c.MaxPendingPerHost)
	}
	return nil
}

func (c *Config) validateTimes() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"HandshakeTimeout", c.HandshakeTimeout}, {"DialTimeout", c.DialTimeout},
		{"HeartbeatInterval", c.HeartbeatInterval}, {"HeartbeatTimeout", c.HeartbeatTimeout},
		{"WriteTimeout", c.WriteTimeout}, {"HelloTimeout", c.HelloTimeout}, {"CloseTimeout", c.CloseTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s %v is negative (0 = default)", ErrBadConfig, d.name, d.v)
		}
	}
	if c.HeartbeatTimeout <= 2*c.HeartbeatInterval {
		return fmt.Errorf("%w: HeartbeatTimeout %v must exceed 2 × HeartbeatInterval %v", ErrBadConfig, c.HeartbeatTimeout, c.HeartbeatInterval)
	}
	return nil
}

// ValidateName checks that s is a node name of the form "name@host": a
// non-empty name of letters, digits, '_', '-' and '.', one '@', and a
// non-empty host without spaces, control characters or '@'; at most 255
// bytes in all. Errors wrap ErrBadName.
func ValidateName(s string) error {
	name, host, ok := strings.Cut(s, "@")
	switch {
	case !ok || name == "" || host == "":
		return fmt.Errorf("%w: %q is not name@host", ErrBadName, s)
	case len(s) > maxNameLen:
		return fmt.Errorf("%w: %d bytes (max %d)", ErrBadName, len(s), maxNameLen)
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: %q: character %q not allowed in the name part", ErrBadName, s, r)
		}
	}
	for _, r := range host {
		if r <= ' ' || r == '@' || r == 0x7f {
			return fmt.Errorf("%w: %q: character %q not allowed in the host part", ErrBadName, s, r)
		}
	}
	return nil
}

// listenAddrs lists the addresses Listen tries, in order.
func (c *Config) listenAddrs() ([]string, error) {
	if c.PortMin == 0 {
		return []string{c.ListenAddr}, nil
	}
	host, _, err := net.SplitHostPort(c.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: ListenAddr: %w", ErrBadConfig, err)
	}
	addrs := make([]string, 0, c.PortMax-c.PortMin+1)
	for p := c.PortMin; p <= c.PortMax; p++ {
		addrs = append(addrs, net.JoinHostPort(host, fmt.Sprint(p)))
	}
	return addrs, nil
}
