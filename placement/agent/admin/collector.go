package admin

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/placerhq/placer/placement"
)

// metricsTimeout bounds the stats read of one scrape.
const metricsTimeout = 3 * time.Second

// statMetric is one Prometheus metric read from a StatsReport.
type statMetric struct {
	desc *prometheus.Desc
	kind prometheus.ValueType
	get  func(*placement.StatsReport) float64
}

// statsCollector exports a node's StatsReport (placement, runtime and
// membership figures) at every scrape; it keeps no state of its own.
type statsCollector struct {
	b        Backend
	up       *prometheus.Desc
	metrics  []statMetric
	labelled []labelled
}

// NewCollector returns a Prometheus collector of b's figures: placer_up,
// then the placement, node runtime, transport and membership figures of
// placement.StatsReport (placer_view_members, placer_placement_*_total,
// placer_node_*, placer_transport_*, placer_membership_*), each labelled
// with the node's name. It reads b.Stats once per scrape and keeps no
// state, so it can be registered with the caller's own registry.
func NewCollector(b Backend) prometheus.Collector { return newStatsCollector(b) }

func newStatsCollector(b Backend) *statsCollector {
	labels := []string{"node"}
	m := func(name, help string, kind prometheus.ValueType, get func(*placement.StatsReport) float64) statMetric {
		return statMetric{desc: prometheus.NewDesc("placer_"+name, help, labels, nil), kind: kind, get: get}
	}
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	p := func(r *placement.StatsReport) *placement.Stats { return &r.Placement }
	f := func(v uint64) float64 { return float64(v) }
	return &statsCollector{
		b:        b,
		labelled: transportFailureMetrics(),
		up:       prometheus.NewDesc("placer_up", "1 if the node's stats could be read at this scrape", labels, nil),
		metrics: append([]statMetric{
			m("uptime_seconds", "time since the node started", g, func(r *placement.StatsReport) float64 { return float64(r.UptimeMS) / 1000 }),
			m("view_epoch", "local epoch of the ownership view", g, func(r *placement.StatsReport) float64 { return f(p(r).Epoch) }),
			m("view_members", "ring members in the view", g, func(r *placement.StatsReport) float64 { return float64(p(r).Members) }),
			m("placement_hosted", "keyed processes hosted here", g, func(r *placement.StatsReport) float64 { return float64(p(r).Hosted) }),
			m("placement_routed_total", "routed requests received", c, func(r *placement.StatsReport) float64 { return f(p(r).Routed) }),
			m("placement_forwarded_total", "requests forwarded to the believed owner", c, func(r *placement.StatsReport) float64 { return f(p(r).Forwarded) }),
			m("placement_dropped_total", "sends not delivered", c, func(r *placement.StatsReport) float64 { return f(p(r).Dropped) }),
			m("placement_buffered_total", "requests that waited for a key in transition", c, func(r *placement.StatsReport) float64 { return f(p(r).Buffered) }),
			m("placement_not_owner_total", "calls answered not-owner", c, func(r *placement.StatsReport) float64 { return f(p(r).NotOwner) }),
			m("placement_no_quorum_total", "requests refused for lack of quorum", c, func(r *placement.StatsReport) float64 { return f(p(r).NoQuorum) }),
			m("placement_view_mismatch_total", "routed requests from a sender with another view", c, func(r *placement.StatsReport) float64 { return f(p(r).ViewMismatch) }),
			m("placement_spawned_total", "keyed processes started fresh", c, func(r *placement.StatsReport) float64 { return f(p(r).Spawned) }),
			m("placement_imported_total", "keyed processes started from a handoff", c, func(r *placement.StatsReport) float64 { return f(p(r).Imported) }),
			m("placement_pulls_total", "pull rounds as new owner", c, func(r *placement.StatsReport) float64 { return f(p(r).Pulls) }),
			m("placement_handoffs_started_total", "handoffs started as old owner", c, func(r *placement.StatsReport) float64 { return f(p(r).HandoffsStarted) }),
			m("placement_handoffs_finished_total", "handoffs finished", c, func(r *placement.StatsReport) float64 { return f(p(r).HandoffsFinished) }),
			m("placement_handoffs_failed_total", "handoffs given up", c, func(r *placement.StatsReport) float64 { return f(p(r).HandoffsFailed) }),
			m("placement_conflicts_total", "heal duplicates resolved here as winner", c, func(r *placement.StatsReport) float64 { return f(p(r).Conflicts) }),
			m("placement_conflicts_lost_total", "copies stopped here as heal loser", c, func(r *placement.StatsReport) float64 { return f(p(r).ConflictsLost) }),
			m("placement_view_changes_total", "ownership view changes", c, func(r *placement.StatsReport) float64 { return f(p(r).ViewChanges) }),
			m("placement_events_dropped_total", "events dropped because the consumer was slow", c, func(r *placement.StatsReport) float64 { return f(p(r).EventsDropped) }),
		}, append(replMetrics(m), runtimeMetrics(m)...)...),
	}
}

// replMetrics are the replication's and passivation's figures.
func replMetrics(m func(string, string, prometheus.ValueType, func(*placement.StatsReport) float64) statMetric) []statMetric {
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	p := func(r *placement.StatsReport) *placement.Stats { return &r.Placement }
	f := func(v uint64) float64 { return float64(v) }
	return []statMetric{
		m("repl_updates_total", "state updates stored by every backup (sync) or sent (async)", c, func(r *placement.StatsReport) float64 { return f(p(r).ReplUpdates) }),
		m("repl_failed_total", "updates that did not reach every backup in time, or too large", c, func(r *placement.StatsReport) float64 { return f(p(r).ReplFailed) }),
		m("repl_stale_total", "copies here superseded by a newer term", c, func(r *placement.StatsReport) float64 { return f(p(r).ReplStale) }),
		m("repl_promotions_total", "backup copies promoted here after their primary failed", c, func(r *placement.StatsReport) float64 { return f(p(r).ReplPromotions) }),
		m("repl_copies_sent_total", "copies sent to backups outside a write (re-replication)", c, func(r *placement.StatsReport) float64 { return f(p(r).ReplCopiesSent) }),
		m("repl_inflight", "async updates not yet answered (the replication lag)", g, func(r *placement.StatsReport) float64 { return float64(p(r).ReplInflight) }),
		m("repl_backups", "backup copies kept here", g, func(r *placement.StatsReport) float64 { return float64(p(r).ReplBackups) }),
		m("repl_backup_bytes", "bytes of the backup copies kept here", g, func(r *placement.StatsReport) float64 { return float64(p(r).ReplBackupBytes) }),
		m("passivated_total", "processes passivated (idle or over MaxLive)", c, func(r *placement.StatsReport) float64 { return f(p(r).Passivated) }),
		m("reactivated_total", "passivated keys started again by a request", c, func(r *placement.StatsReport) float64 { return f(p(r).Reactivated) }),
		m("passive", "keys passivated here", g, func(r *placement.StatsReport) float64 { return float64(p(r).Passive) }),
		m("passive_bytes", "bytes of the passivated keys' states", g, func(r *placement.StatsReport) float64 { return float64(p(r).PassiveBytes) }),
	}
}

// runtimeMetrics are the node runtime's and the transport's figures.
func runtimeMetrics(m func(string, string, prometheus.ValueType, func(*placement.StatsReport) float64) statMetric) []statMetric {
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	rt := func(r *placement.StatsReport) *placement.RuntimeStats { return &r.Runtime }
	return []statMetric{
		m("node_processes", "live processes and inboxes", g, func(r *placement.StatsReport) float64 { return float64(rt(r).Processes) }),
		m("node_registered", "registered names", g, func(r *placement.StatsReport) float64 { return float64(rt(r).Registered) }),
		m("node_pending_calls", "calls awaiting a reply", g, func(r *placement.StatsReport) float64 { return float64(rt(r).PendingCalls) }),
		m("node_mailbox_drops_total", "messages and calls refused by full mailboxes", c, func(r *placement.StatsReport) float64 { return float64(rt(r).MailboxDrops) }),
		m("node_stale_drops_total", "messages to PIDs of an earlier incarnation", c, func(r *placement.StatsReport) float64 { return float64(rt(r).StaleDrops) }),
		m("node_noproc_drops_total", "messages to unknown processes", c, func(r *placement.StatsReport) float64 { return float64(rt(r).NoProcDrops) }),
		m("node_forwarded_total", "messages forwarded after a handoff", c, func(r *placement.StatsReport) float64 { return float64(rt(r).Forwarded) }),
		m("transport_peers", "connected visible nodes", g, func(r *placement.StatsReport) float64 { return float64(rt(r).Peers) }),
		m("transport_hidden_peers", "connected hidden nodes (CLI tools, observers)", g, func(r *placement.StatsReport) float64 { return float64(rt(r).HiddenPeers) }),
		m("membership_alive", "alive placer members", g, gossip(func(s *placement.GossipStats) int { return s.Alive })),
		m("membership_failed", "failed placer members", g, gossip(func(s *placement.GossipStats) int { return s.Failed })),
		m("membership_left", "members that left (tombstones)", g, gossip(func(s *placement.GossipStats) int { return s.Left })),
		m("membership_health_score", "memberlist awareness (0 = healthy)", g, gossip(func(s *placement.GossipStats) int { return s.HealthScore })),
		m("membership_heals_total", "members seen back after a failure or partition", c, func(r *placement.StatsReport) float64 {
			if r.Membership == nil {
				return 0
			}
			return float64(r.Membership.Heals)
		}),
		m("membership_rejected_members", "members refused now: bad tags or signature (never ring members)", g, gossip(func(s *placement.GossipStats) int { return s.Rejected })),
		m("membership_rejected_total", "member refusals since start", c, func(r *placement.StatsReport) float64 {
			if r.Membership == nil {
				return 0
			}
			return float64(r.Membership.RejectedTotal)
		}),
		m("transport_inbound_accepted_total", "TCP connections accepted", c, tstat(func(s *placement.TransportStats) uint64 { return s.InboundAccepted })),
		m("transport_inbound_authenticated_total", "peers that proved the cookie", c, tstat(func(s *placement.TransportStats) uint64 { return s.InboundAuthenticated })),
		m("transport_pending_handshakes", "connections in their handshake now", g, tstat(func(s *placement.TransportStats) uint64 { return uint64(s.PendingInbound) })),
	}
}

// tstat reads a transport figure (0 if the transport does not count).
func tstat(get func(*placement.TransportStats) uint64) func(*placement.StatsReport) float64 {
	return func(r *placement.StatsReport) float64 {
		if r.Transport == nil {
			return 0
		}
		return float64(get(r.Transport))
	}
}

// labelled is one metric family with extra labels (after node): one series
// per label set.
type labelled struct {
	desc   *prometheus.Desc
	series []labelledSeries
}

type labelledSeries struct {
	labels []string
	get    func(*placement.TransportStats) uint64
}

// transportFailureMetrics: handshake failures by direction and reason, and
// inbound connections turned away by reason.
func transportFailureMetrics() []labelled {
	ts := func(get func(*placement.TransportStats) uint64, labels ...string) labelledSeries {
		return labelledSeries{labels: labels, get: get}
	}
	return []labelled{{
		desc: prometheus.NewDesc("placer_transport_handshake_failures_total", "failed handshakes by direction and reason (auth: wrong cookie; timeout: silent or slow peer)", []string{"node", "dir", "reason"}, nil),
		series: []labelledSeries{
			ts(func(s *placement.TransportStats) uint64 { return s.InboundAuthFailed }, "inbound", "auth"),
			ts(func(s *placement.TransportStats) uint64 { return s.InboundTimedOut }, "inbound", "timeout"),
			ts(func(s *placement.TransportStats) uint64 { return s.InboundFailed }, "inbound", "other"),
			ts(func(s *placement.TransportStats) uint64 { return s.OutboundAuthFailed }, "outbound", "auth"),
			ts(func(s *placement.TransportStats) uint64 { return s.OutboundFailed }, "outbound", "other"),
		},
	}, {
		desc: prometheus.NewDesc("placer_transport_inbound_rejected_total", "inbound connections turned away before authenticating, by reason", []string{"node", "reason"}, nil),
		series: []labelledSeries{
			ts(func(s *placement.TransportStats) uint64 { return s.InboundEvicted }, "evicted"),
			ts(func(s *placement.TransportStats) uint64 { return s.InboundRefusedBusy }, "busy"),
			ts(func(s *placement.TransportStats) uint64 { return s.InboundRefusedPerHost }, "per_host"),
		},
	}}
}

// gossip reads a membership figure (0 without membership).
func gossip(get func(*placement.GossipStats) int) func(*placement.StatsReport) float64 {
	return func(r *placement.StatsReport) float64 {
		if r.Membership == nil {
			return 0
		}
		return float64(get(r.Membership))
	}
}

// Describe implements prometheus.Collector.
func (s *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.up
	for _, m := range s.metrics {
		ch <- m.desc
	}
	for _, l := range s.labelled {
		ch <- l.desc
	}
}

// Collect implements prometheus.Collector: one stats read per scrape.
func (s *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	r, err := s.b.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(s.up, prometheus.GaugeValue, 0, backendName(s.b))
		return
	}
	ch <- prometheus.MustNewConstMetric(s.up, prometheus.GaugeValue, 1, r.Node)
	for _, m := range s.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.get(&r), r.Node)
	}
	if r.Transport == nil {
		return
	}
	for _, l := range s.labelled {
		for _, ser := range l.series {
			ch <- prometheus.MustNewConstMetric(l.desc, prometheus.CounterValue, float64(ser.get(r.Transport)), append([]string{r.Node}, ser.labels...)...)
		}
	}
}

// backendName is the node a backend speaks for, for placer_up when its
// stats cannot be read: the cluster node's name, or a client's agent.
func backendName(b Backend) string {
	switch v := b.(type) {
	case clusterBackend:
		return v.c.Name()
	case interface{ Agent() string }:
		return v.Agent()
	}
	return ""
}
