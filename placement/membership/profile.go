package membership

import (
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Timing profiles (Config.Profile).
const (
	// ProfileLAN is Serf's and memberlist's LAN defaults, unchanged in
	// every timing: probe each member every 1 s (500 ms ack timeout),
	// suspicion 4 s (at up to 9 nodes; it grows with log10 of the size)
	// that starts at 24 s and shrinks as other members confirm it, gossip
	// every 200 ms, full state sync every 30 s, reconnect attempts to
	// failed members every 30 s. A kill is typically seen as failed in
	// 5-7 s and at worst in about 2(n-1)+1 s + 24 s; a healed partition
	// merges in about 30-90 s. Use it across real networks.
	ProfileLAN = "lan"
	// ProfileLocal is tuned for clusters on loopback and for tests: probe
	// every 200 ms (100 ms ack timeout), suspicion a fixed 600 ms (up to 9
	// nodes), gossip every 50 ms, state sync every 2 s, reconnect to
	// failed members every 500 ms, leave propagation 300 ms. A kill is
	// typically seen as failed in about 1 s and at worst in about
	// 2(n-1)*200 ms + 800 ms + gossip (1.7 s for 3 nodes, 2.5 s for 5
	// nodes, when every survivor's probe order is unlucky at once); a
	// healed partition merges within about 1.6 s (measured: 0.3-0.5 s
	// mean). See docs/membership.md for the derivation and measurements.
	// Too aggressive for real networks: a node stalled for more than about
	// 0.7 s is declared failed.
	ProfileLocal = "local"
)

// profile is the set of library knobs a named profile sets.
type profile struct {
	// memberlist
	probeInterval, probeTimeout   time.Duration
	suspicionMult, suspicionMaxTM int
	indirectChecks                int
	retransmitMult                int
	gossipInterval                time.Duration
	gossipNodes                   int
	gossipToTheDead               time.Duration
	pushPullInterval              time.Duration
	tcpTimeout                    time.Duration
	awarenessMax                  int
	deadNodeReclaim               time.Duration
	// serf
	reconnectInterval time.Duration
	broadcastTimeout  time.Duration
	leavePropagate    time.Duration
	// placer: the damper's hold (damp.go; its window is dampTimes')
	rejoinHold time.Duration
}

func lookupProfile(name string) (profile, error) {
	lan := memberlist.DefaultLANConfig()
	sd := serf.DefaultConfig()
	p := profile{
		probeInterval: lan.ProbeInterval, probeTimeout: lan.ProbeTimeout,
		suspicionMult: lan.SuspicionMult, suspicionMaxTM: lan.SuspicionMaxTimeoutMult,
		indirectChecks: lan.IndirectChecks, retransmitMult: lan.RetransmitMult,
		gossipInterval: lan.GossipInterval, gossipNodes: lan.GossipNodes,
		gossipToTheDead: lan.GossipToTheDeadTime, pushPullInterval: lan.PushPullInterval,
		tcpTimeout: lan.TCPTimeout, awarenessMax: lan.AwarenessMaxMultiplier,
		deadNodeReclaim:   lan.DeadNodeReclaimTime,
		reconnectInterval: sd.ReconnectInterval, broadcastTimeout: sd.BroadcastTimeout,
		leavePropagate: sd.LeavePropagateDelay,
		rejoinHold:     2 * time.Second, // a restarted member's refutation: a few gossip rounds (200 ms)
	}
	switch name {
	case ProfileLAN:
		return p, nil
	case ProfileLocal:
		return localProfile(p), nil
	}
	return profile{}, fmt.Errorf("%w: Profile %q (want %q or %q)", ErrBadConfig, name, ProfileLAN, ProfileLocal)
}

// localProfile overrides the LAN values for loopback clusters. Each value is
// chosen so that a killed node is marked failed well under 2.5 s and a
// healed partition merges within a few seconds, while a node that stalls for
// a few hundred milliseconds (the race detector on a busy 2-core machine)
// still refutes its suspicion in time.
func localProfile(p profile) profile {
	p.probeInterval = 200 * time.Millisecond     // one probe per member every 200 ms
	p.probeTimeout = 100 * time.Millisecond      // loopback RTT is microseconds; 100 ms tolerates GC and -race stalls
	p.suspicionMult = 3                          // suspicion = 3 x 200 ms = 600 ms (n <= 9)
	p.suspicionMaxTM = 1                         // no 6x head start waiting for confirmations
	p.indirectChecks = 2                         // ask two others before suspecting
	p.retransmitMult = 6                         // a broadcast goes out 6*ceil(log10(n+1)) times: a gossip miss (then repaired by push/pull) becomes rare
	p.gossipInterval = 50 * time.Millisecond     // spread suspect/dead/leave messages fast
	p.gossipToTheDead = 5 * time.Second          // keep gossiping to a freshly dead member: short partitions heal by gossip
	p.pushPullInterval = 2 * time.Second         // anti-entropy full sync: bounds how long a missed gossip goes unnoticed
	p.tcpTimeout = time.Second                   // dials and push/pull streams on loopback
	p.awarenessMax = 4                           // Lifeguard may slow a degraded node's probes up to 4x
	p.deadNodeReclaim = 100 * time.Millisecond   // a node restarted on a new port may take its name over 100 ms after it was marked dead
	p.reconnectInterval = 500 * time.Millisecond // Serf re-joins a failed member: long partitions heal within a few of these
	p.broadcastTimeout = 2 * time.Second         // max wait for a leave or tag broadcast to go out
	p.leavePropagate = 300 * time.Millisecond    // stay up after a leave: six gossip rounds, one and a half probe intervals
	p.rejoinHold = 500 * time.Millisecond        // a restarted member's refutation takes a few gossip rounds (36 ms measured; ten rounds)
	return p
}

// Timing describes the failure-detection and heal timing a profile gives a
// cluster of a given size. Figures are nominal: they assume the detecting
// members are healthy (Lifeguard's awareness multiplier at 1) and ignore
// scheduling delays.
type Timing struct {
	Profile           string
	ClusterSize       int
	ProbeInterval     time.Duration // each member probes one other member this often
	ProbeTimeout      time.Duration // direct ack wait before indirect probes
	Suspicion         time.Duration // suspicion timeout once confirmed (the minimum)
	SuspicionMax      time.Duration // suspicion timeout without confirmations
	GossipInterval    time.Duration
	ReconnectInterval time.Duration // Serf's attempts to re-join failed members
	PushPullInterval  time.Duration
	// FailureTypical: a survivor probes the dead member within about one
	// probe interval, the probe round takes one more, then the suspicion
	// timeout runs and the dead message spreads in two gossip rounds.
	FailureTypical time.Duration
	// FailureWorst: every survivor's shuffled probe order reaches the dead
	// member last (up to 2(n-1) probe intervals), plus the probe round,
	// the unconfirmed suspicion timeout and two gossip rounds.
	FailureWorst time.Duration
	// HealTypical: after connectivity returns, merging takes about three
	// reconnect rounds (each side learns the other's refuted incarnations)
	// plus gossip; partitions shorter than gossip-to-the-dead time (5 s
	// local, 30 s lan) usually merge faster through gossip alone.
	HealTypical time.Duration
}

// ProfileTiming computes the nominal Timing of profile for a cluster of n
// members (n >= 1).
func ProfileTiming(profileName string, n int) (Timing, error) {
	p, err := lookupProfile(profileName)
	if err != nil {
		return Timing{}, err
	}
	if n < 1 {
		return Timing{}, fmt.Errorf("%w: cluster size %d", ErrInvalidArgument, n)
	}
	scale := math.Max(1, math.Log10(float64(n)))
	susp := time.Duration(float64(p.suspicionMult) * scale * float64(p.probeInterval))
	suspMax := time.Duration(p.suspicionMaxTM) * susp
	t := Timing{
		Profile: profileName, ClusterSize: n,
		ProbeInterval: p.probeInterval, ProbeTimeout: p.probeTimeout,
		Suspicion: susp, SuspicionMax: suspMax,
		GossipInterval: p.gossipInterval, ReconnectInterval: p.reconnectInterval,
		PushPullInterval: p.pushPullInterval,
	}
	gossip := 2 * p.gossipInterval
	t.FailureTypical = 2*p.probeInterval + susp + gossip
	rounds := time.Duration(2 * max(n-1, 1))
	t.FailureWorst = rounds*p.probeInterval + p.probeInterval + suspMax + gossip
	t.HealTypical = 3*p.reconnectInterval + gossip
	return t, nil
}

// dampTimes returns the damper's window and hold for c's profile (none for
// an unknown one: Config.validate refuses it first). The window is the
// least suspicion timeout (SuspicionMult probe intervals, local 600 ms, lan
// 4 s; c.dampWindow if set): a member that crashed after it joined cannot
// be declared failed sooner, so what the window holds back is news of an
// earlier process.
func (c Config) dampTimes() (window, hold time.Duration) {
	p, err := lookupProfile(c.Profile)
	if err != nil {
		return 0, 0
	}
	window = time.Duration(p.suspicionMult) * p.probeInterval
	if c.dampWindow > 0 {
		window = c.dampWindow
	}
	return window, p.rejoinHold
}
