package membership

import (
	"errors"
	"fmt"
	"log"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/goset"
	"github.com/placerhq/placer/internal/ratelog"
)

// eventChSize buffers Serf's EventCh. The drain loop empties it at once, so
// the buffer only absorbs bursts; it also lets Serf's last sends during
// Shutdown complete after the drain loop has stopped.
const eventChSize = 1024

// Membership is this node's view of the placer cluster, kept by Serf. All
// methods are safe for concurrent use.
//
// Goroutines: the drain loop (empties Serf's event channel immediately, so
// Serf never stalls on us), the publish loop (turns batches of events into
// Views for subscribers), at most one background join loop and at most one
// graceful-leave call. Shutdown ends all of them and Serf's own.
type Membership struct {
	cfg    Config // private copy; immutable after Start
	log    zerolog.Logger
	warns  *ratelog.Logger // repeated warnings (gossip authentication, join to self), rate-limited per kind; closed by Shutdown
	prev   []Peer          // the members the snapshot listed at Start
	serf   *serf.Serf
	events chan serf.Event // Serf's EventCh, read only by drainLoop
	tk     tagKey          // signs our tags, verifies everyone's; a secret
	self   string          // our advertised gossip address, covered by our signature

	done      chan struct{} // closed when Shutdown begins
	drainStop chan struct{} // closed once serf.Shutdown has returned
	shutDone  chan struct{} // closed when Shutdown has finished
	gos       goset.Set     // every goroutine above; stopped with closing

	// lifeMu guards closing, shutErr, leaveDone, leaveErr and retryStop;
	// the goroutines started after Start are started under it.
	lifeMu    sync.Mutex
	closing   bool
	shutErr   error
	leaveDone chan struct{} // non-nil once Leave started; closed when it finished
	leaveErr  error
	retryStop chan struct{} // stops the running background join loop, if any

	// serfMu serialises serf.Join and serf.Leave. Run at once, they can
	// take the same Lamport time (Join reads the clock without advancing
	// it), and a join intent processed before the leave intent of the same
	// time hides it: the others, and the leaver itself, then record the
	// leaver as failed instead of left. A join attempt that gets serfMu
	// after Leave began does not join.
	serfMu sync.Mutex
	// testHookJoin, if set, runs in each join attempt under serfMu, just
	// before serf.Join (tests only).
	testHookJoin func()

	// tagsMu serializes tag updates and guards weight and extra.
	tagsMu sync.Mutex
	weight int
	extra  map[string]string

	// pendMu guards pending: member events drained but not yet published.
	pendMu  sync.Mutex
	pending []rawEvent
	kick    chan struct{} // capacity 1; a token means "publish soon"

	// tr and rejected are owned by the publish loop (and by Start before it
	// runs). rejected maps each refused member's name to why, so each
	// refusal is logged once until it changes or the member goes.
	tr       *tracker
	rejected map[string]string
	// damp holds back reports that a member which just (re)joined failed
	// (damp.go); owned by the publish loop like tr.
	damp *damper
	// qMu guards qt (the publish loop and ResetQuorum use it).
	qMu sync.Mutex
	qt  *quorumTracker

	// Lock order: subMu before viewMu. subMu guards subs and subsClosed;
	// offers to subscriber channels happen under it and never block.
	subMu      sync.Mutex
	subs       map[chan View]struct{}
	subsClosed bool
	viewMu     sync.RWMutex // guards view
	view       View

	// joinMu guards joinErr, lastJoinErr and joinedClosed.
	joinMu       sync.Mutex
	joinErr      error
	lastJoinErr  error
	joinedClosed bool
	joined       chan struct{} // closed at the first successful join

	stats struct {
		events, views, joinAttempts, rejections, damped atomic.Uint64
	}
}

// rawEvent is one member out of a Serf member event.
type rawEvent struct {
	reap   bool
	member Member
}

// Start validates a copy of cfg, starts Serf and returns the running
// Membership. If cfg.Join is not empty it joins those addresses in the
// background (first attempt at once; see Joined, JoinError). Start fails
// with ErrBadConfig, ErrInvalidCookie or ErrStart.
func Start(cfg Config) (*Membership, error) {
	c := cfg.clone()
	if err := c.validate(); err != nil {
		shutdownTransport(c.Transport)
		return nil, err
	}
	m := newMembership(c)
	m.prev = readSnapshotPeers(c.SnapshotPath, c.NodeName)
	if err := m.startSerf(); err != nil {
		m.warns.Close()
		return nil, err
	}
	m.publish()
	m.gos.Go(m.publishLoop)
	if len(c.Join) > 0 {
		m.startRetry(c.Join, 0)
	}
	m.log.Info().Str("gossip_addr", m.GossipAddr()).Str("profile", c.Profile).
		Int("weight", c.Weight).Msg("membership started")
	return m, nil
}

func newMembership(c Config) *Membership {
	lg := c.Logger.With().Str("component", "membership").Str("node", c.NodeName).Logger()
	return &Membership{
		cfg:       c,
		log:       lg,
		warns:     ratelog.New(lg, authWarnEvery),
		events:    make(chan serf.Event, eventChSize),
		done:      make(chan struct{}),
		drainStop: make(chan struct{}),
		shutDone:  make(chan struct{}),
		weight:    c.Weight,
		extra:     maps.Clone(c.Tags),
		kick:      make(chan struct{}, 1),
		tr:        newTracker(),
		rejected:  make(map[string]string),
		damp:      newDamper(c.dampTimes()),
		qt:        newQuorumTracker(),
		subs:      make(map[chan View]struct{}),
		joined:    make(chan struct{}),
	}
}

// startSerf binds the transport and creates Serf; on failure nothing is
// left running.
func (m *Membership) startSerf() error {
	c := &m.cfg
	libLog := newBridgedLogger(c.Logger.With().Str("component", "serf").Str("node", c.NodeName).Logger(), m.warns)
	key, tr, advPort, err := m.prepare(libLog)
	if err != nil {
		return err
	}
	m.gos.Go(m.drainLoop)
	s, err := serf.Create(m.serfConfig(tr, advPort, key, libLog))
	if err != nil {
		shutdownTransport(tr)
		close(m.drainStop)
		m.gos.Close()
		return fmt.Errorf("%w: serf: %w", ErrStart, err)
	}
	m.serf = s
	return nil
}

// prepare derives the gossip key (returned) and the tag key, checks the
// snapshot path, and opens the transport and the address we advertise on
// it; on failure it shuts the transport down.
func (m *Membership) prepare(libLog *log.Logger) ([]byte, memberlist.Transport, int, error) {
	c := &m.cfg
	key, err := DeriveGossipKey(c.Cookie)
	if err == nil {
		m.tk, err = deriveTagKey(c.Cookie)
	}
	if err == nil {
		err = checkSnapshotPath(c.SnapshotPath)
	}
	if err != nil {
		shutdownTransport(c.Transport)
		return nil, nil, 0, err
	}
	tr, advPort, err := openTransport(c, libLog)
	if err != nil {
		shutdownTransport(c.Transport)
		return nil, nil, 0, err
	}
	if m.self, err = advertisedAddr(tr, c, advPort); err != nil {
		shutdownTransport(tr)
		return nil, nil, 0, err
	}
	return key, tr, advPort, nil
}

func shutdownTransport(t memberlist.Transport) {
	if t != nil {
		_ = t.Shutdown()
	}
}

// serfConfig builds the Serf and memberlist configuration from the profile.
func (m *Membership) serfConfig(tr memberlist.Transport, port int, key []byte, libLog *log.Logger) *serf.Config {
	c := &m.cfg
	p, _ := lookupProfile(c.Profile) // validated
	ml := memberlist.DefaultLANConfig()
	applyProfile(ml, p)
	ml.Transport = tr
	ml.BindAddr, ml.BindPort = c.BindAddr, port
	ml.AdvertiseAddr, ml.AdvertisePort = c.AdvertiseAddr, advertisePort(c, port)
	ml.SecretKey = key
	ml.GossipVerifyIncoming, ml.GossipVerifyOutgoing = true, true
	ml.Logger, ml.LogOutput = libLog, nil

	sc := serf.DefaultConfig()
	sc.NodeName = c.NodeName
	sc.Tags = m.signedTags(c.Weight, c.Tags)
	sc.EventCh = m.events
	sc.MemberlistConfig = ml
	sc.Logger, sc.LogOutput = libLog, nil
	sc.ReconnectInterval = p.reconnectInterval
	sc.BroadcastTimeout = p.broadcastTimeout
	sc.LeavePropagateDelay = p.leavePropagate
	sc.SnapshotPath = c.SnapshotPath
	sc.RejoinAfterLeave = c.RejoinAfterLeave
	sc.DisableCoordinates = true // placement does not use network coordinates
	return sc
}

// advertisePort is the gossip port memberlist advertises: AdvertisePort,
// or the bound port.
func advertisePort(c *Config, bound int) int {
	if c.AdvertisePort != 0 {
		return c.AdvertisePort
	}
	return bound
}

// advertisedAddr is the gossip address memberlist will advertise for us
// (it asks the transport the same question), which our tag signature
// covers.
func advertisedAddr(tr memberlist.Transport, c *Config, bound int) (string, error) {
	ip, port, err := tr.FinalAdvertiseAddr(c.AdvertiseAddr, advertisePort(c, bound))
	if err != nil {
		return "", fmt.Errorf("%w: advertise address: %w", ErrStart, err)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
}

// signedTags builds and signs this node's full tag map.
func (m *Membership) signedTags(weight int, extra map[string]string) map[string]string {
	c := &m.cfg
	return m.tk.sign(c.NodeName, m.self, buildTags(c.TransportAddr, weight, c.ProtocolVersion, extra))
}

func applyProfile(ml *memberlist.Config, p profile) {
	ml.ProbeInterval, ml.ProbeTimeout = p.probeInterval, p.probeTimeout
	ml.SuspicionMult, ml.SuspicionMaxTimeoutMult = p.suspicionMult, p.suspicionMaxTM
	ml.IndirectChecks, ml.RetransmitMult = p.indirectChecks, p.retransmitMult
	ml.GossipInterval, ml.GossipNodes = p.gossipInterval, p.gossipNodes
	ml.GossipToTheDeadTime, ml.PushPullInterval = p.gossipToTheDead, p.pushPullInterval
	ml.TCPTimeout, ml.AwarenessMaxMultiplier = p.tcpTimeout, p.awarenessMax
	ml.DeadNodeReclaimTime = p.deadNodeReclaim
}

// Shutdown stops Serf without a leave (the others will mark this node
// failed) and ends every goroutine this Membership started, Serf's and
// memberlist's included (memberlist's connection handlers may take a few
// milliseconds more to return). A Leave in progress is waited for first
// (it is bounded by the profile's broadcast timeouts). Subscriber channels
// are closed. Idempotent; later calls return the first call's result.
func (m *Membership) Shutdown() error {
	m.lifeMu.Lock()
	if m.closing {
		m.lifeMu.Unlock()
		<-m.shutDone
		return m.shutErr
	}
	m.closing = true
	m.gos.Stop()
	leaveDone := m.leaveDone
	m.lifeMu.Unlock()

	close(m.done)
	if leaveDone != nil {
		<-leaveDone // memberlist panics on a Leave after its Shutdown
	}
	err := m.serf.Shutdown()
	close(m.drainStop)
	m.gos.Wait()
	m.warns.Close()
	m.closeSubscribers()
	if err != nil {
		err = fmt.Errorf("%w: serf shutdown: %w", ErrShutdown, err)
	}
	m.lifeMu.Lock()
	m.shutErr = err
	m.lifeMu.Unlock()
	close(m.shutDone)
	m.log.Info().Msg("membership shut down")
	return err
}

// isClosing reports whether Shutdown has begun.
func (m *Membership) isClosing() bool {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	return m.closing
}

// Name returns this node's name.
func (m *Membership) Name() string { return m.cfg.NodeName }

// GossipAddr returns the address ("ip:port") other members reach this
// node's Serf at: what to put in their Join lists and FaultNet partitions.
func (m *Membership) GossipAddr() string {
	return m.serf.Memberlist().LocalNode().Address()
}

// Members returns every placer member Serf currently lists, in any status,
// sorted by name, read live from Serf. Members without the placer tag are
// left out. Each call copies and converts Serf's list: on hot paths keep the
// latest View from Subscribe instead.
func (m *Membership) Members() []Member {
	out, _ := m.scan()
	return out
}

// scan converts Serf's member list: the placer members, sorted by name,
// and why each refused one (a member that claims to be a placer node but
// fails validation or the signature check) was refused.
func (m *Membership) scan() ([]Member, map[string]string) {
	sms := m.serf.Members()
	out := make([]Member, 0, len(sms))
	var refused map[string]string
	for _, sm := range sms {
		pm, err := m.tk.memberFromSerf(sm)
		switch {
		case err == nil:
			out = append(out, pm)
		case !errors.Is(err, errNotPlacer):
			if refused == nil {
				refused = make(map[string]string)
			}
			refused[sm.Name] = net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port))) + ": " + err.Error()
		}
	}
	sortMembers(out)
	return out, refused
}

// Alive returns the alive placer members sorted by name, the local node
// included while it is alive: the ring candidates.
func (m *Membership) Alive() []Member { return aliveOnly(m.Members()) }

// LocalMember returns this node as the cluster sees it (its status turns
// leaving, then left, during Leave).
func (m *Membership) LocalMember() Member {
	pm, err := m.tk.memberFromSerf(m.serf.LocalMember())
	if err != nil { // our own tags are always valid placer tags; a status Serf has no name for
		pm = Member{Name: m.cfg.NodeName, Tags: map[string]string{}}
	}
	return pm
}

// View returns the latest published View, without Changes.
func (m *Membership) View() View {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	v := m.view
	v.Changes = nil
	return v
}

// Quorum returns the side-quorum verdict of the latest published View.
func (m *Membership) Quorum() Quorum { return m.View().Quorum }

// ResetQuorum makes the last full membership the set of members alive now,
// forgetting failed members for the quorum rule. Use it when failed nodes
// are gone for good (after a ForceLeave is not possible because Serf
// already reaped them): it can let a minority side believe it has quorum.
func (m *Membership) ResetQuorum() Quorum {
	m.qMu.Lock()
	q := m.qt.reset(m.Members())
	m.qMu.Unlock()
	m.kickPublish()
	return q
}

// Stats is a point-in-time summary for operators and tests.
type Stats struct {
	GossipAddr    string
	Members       int // placer members Serf lists (all statuses)
	Alive         int
	Leaving       int
	Left          int
	Failed        int
	NonPlacer     int    // Serf members without the placer tag (ignored)
	Rejected      int    // Serf members with the placer tag refused now: bad tags or signature (never ring members)
	RejectedTotal uint64 // refusals logged since Start (once per member and reason)
	Version       uint64 // latest published View version
	Heals         uint64 // ChangeRejoin count
	// Damped: reports that a member which had just (re)joined failed or
	// left, held back as the stale news of a restart (damp.go); a hold
	// ends early when the member refutes it, else the report is published.
	Damped          uint64
	EventsReceived  uint64 // Serf events drained
	ViewsPublished  uint64
	JoinAttempts    uint64
	Joined          bool
	HealthScore     int  // memberlist Lifeguard awareness; 0 = healthy
	Encrypted       bool // gossip encryption on (always true here)
	QuorumFull      int  // size of the last full membership
	QuorumAlive     int
	QuorumMajority  bool
	SerfMemberCount int // every Serf member, placer or not
}

// Stats returns current statistics.
func (m *Membership) Stats() Stats {
	st := Stats{GossipAddr: m.GossipAddr()}
	sms := m.serf.Members()
	st.SerfMemberCount = len(sms)
	for _, sm := range sms {
		pm, err := m.tk.memberFromSerf(sm)
		switch {
		case errors.Is(err, errNotPlacer):
			st.NonPlacer++
		case err != nil:
			st.Rejected++
		default:
			st.Members++
			countStatus(&st, pm.Status)
		}
	}
	st.RejectedTotal, st.Damped = m.stats.rejections.Load(), m.stats.damped.Load()
	v := m.View()
	st.Version, st.Heals = v.Version, v.Heals
	st.QuorumFull, st.QuorumAlive, st.QuorumMajority = len(v.Quorum.Full), v.Quorum.Alive, v.Quorum.Majority
	st.EventsReceived = m.stats.events.Load()
	st.ViewsPublished = m.stats.views.Load()
	st.JoinAttempts = m.stats.joinAttempts.Load()
	st.Joined = m.isJoined()
	st.HealthScore = m.serf.Memberlist().GetHealthScore()
	st.Encrypted = m.serf.EncryptionEnabled()
	return st
}

func countStatus(st *Stats, s Status) {
	switch s {
	case StatusAlive:
		st.Alive++
	case StatusLeaving:
		st.Leaving++
	case StatusLeft:
		st.Left++
	case StatusFailed:
		st.Failed++
	}
}
