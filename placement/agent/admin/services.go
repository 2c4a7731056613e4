package admin

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement/global"
)

// NamesReport is GET /api/names: the global names in the answering node's
// replica (global.Service.Names) and its figures.
type NamesReport struct {
	Node  string            `json:"node"`
	Names []global.NameInfo `json:"names"` // sorted by name
	Stats global.Stats      `json:"stats"`
}

// GroupsReport is GET /api/groups: the groups of the node's pg scope, each
// with its members as that node sees them.
type GroupsReport struct {
	Node   string      `json:"node"`
	Scope  string      `json:"scope"`
	Groups []GroupInfo `json:"groups"` // sorted by name
	Stats  pg.Stats    `json:"stats"`
}

// GroupInfo is one group of GroupsReport.
type GroupInfo struct {
	Name    string     `json:"name"`
	Size    int        `json:"size"`    // members, a process once per join
	Local   int        `json:"local"`   // members on the answering node
	Members []node.PID `json:"members"` // in pg's order
}

// LocksReport is GET /api/locks: every lock with an authority on a ring
// member (holder, count, tokens, waiters), gathered from all members.
type LocksReport struct {
	Node  string            `json:"node"`
	Locks []global.LockInfo `json:"locks"` // sorted by id
}

// WithServices returns b with the cluster-service endpoints of g (global
// names and locks: GET /api/names, /api/locks) and scope (process groups:
// GET /api/groups) of the same node, and their metrics
// (NewServicesCollector); either may be nil (its endpoints then answer
// 404, as they do for any other Backend).
func WithServices(b Backend, g *global.Service, scope *pg.Scope) Backend {
	return servicesBackend{Backend: b, g: g, scope: scope}
}

type servicesBackend struct {
	Backend
	g     *global.Service
	scope *pg.Scope
}

func (b servicesBackend) names(context.Context) (NamesReport, error) {
	return NamesReport{Node: b.g.Node().Self(), Names: b.g.Names(), Stats: b.g.Stats()}, nil
}

func (b servicesBackend) groups(context.Context) (GroupsReport, error) {
	r := GroupsReport{Node: b.scope.Node().Self(), Scope: b.scope.Name(), Groups: []GroupInfo{}, Stats: b.scope.Stats()}
	for _, g := range b.scope.Groups() {
		r.Groups = append(r.Groups, GroupInfo{Name: g.Name, Size: g.Members, Local: g.Local, Members: b.scope.Members(g.Name)})
	}
	return r, nil
}

func (b servicesBackend) locks(ctx context.Context) (LocksReport, error) {
	ls, err := b.g.AllLocks(ctx)
	return LocksReport{Node: b.g.Node().Self(), Locks: ls}, err
}

// mountServices routes the cluster-service endpoints the backend has.
func (h *handler) mountServices(mux *http.ServeMux) {
	sb, ok := h.b.(servicesBackend)
	if !ok {
		return
	}
	if sb.g != nil {
		h.api(mux, "/api/names", func(ctx context.Context, _ *http.Request) (any, error) { return sb.names(ctx) })
		h.api(mux, "/api/locks", func(ctx context.Context, _ *http.Request) (any, error) { return sb.locks(ctx) })
	}
	if sb.scope != nil {
		h.api(mux, "/api/groups", func(ctx context.Context, _ *http.Request) (any, error) { return sb.groups(ctx) })
	}
}

// servicesCollector exports the names, locks and groups figures at every
// scrape (gauges and the services' own counters).
type servicesCollector struct {
	b                                                         servicesBackend
	names, tombs, conflicts, waits, waitSec, timeouts, grants *prometheus.Desc
	held, lockLost, groups, groupSize                         *prometheus.Desc
}

// NewServicesCollector returns a Prometheus collector of the global names,
// locks and groups figures of b (a backend from WithServices; nil
// otherwise): placer_global_* and placer_pg_*, labelled with the node.
func NewServicesCollector(b Backend) prometheus.Collector {
	sb, ok := b.(servicesBackend)
	if !ok {
		return nil
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"node"}, labels...), nil)
	}
	return &servicesCollector{b: sb,
		names:     d("placer_global_names", "live global names in this node's replica"),
		tombs:     d("placer_global_tombstones", "ended registrations remembered (TombstoneTTL)"),
		conflicts: d("placer_global_name_conflicts_total", "names found held on both sides of a partition, resolved by authorities here"),
		grants:    d("placer_global_lock_grants_total", "locks granted by authorities here"),
		waits:     d("placer_global_lock_waits_total", "lock requests that queued"),
		waitSec:   d("placer_global_lock_wait_seconds_total", "time granted waiters queued"),
		timeouts:  d("placer_global_lock_timeouts_total", "lock waits that timed out"),
		held:      d("placer_global_locks_held", "locks held by this node's processes"),
		lockLost:  d("placer_global_locks_lost_total", "holders told they lost a lock to a larger token"),
		groups:    d("placer_pg_groups", "process groups with members"),
		groupSize: d("placer_pg_group_members", "members of a process group", "group"),
	}
}

// maxGroupSeries bounds the per-group series of one scrape.
const maxGroupSeries = 200

func (c *servicesCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.names, c.tombs, c.conflicts, c.grants, c.waits, c.waitSec, c.timeouts, c.held, c.lockLost, c.groups, c.groupSize} {
		ch <- d
	}
}

func (c *servicesCollector) Collect(ch chan<- prometheus.Metric) {
	if g := c.b.g; g != nil {
		st, n := g.Stats(), g.Node().Self()
		gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
		for _, m := range []struct {
			d    *prometheus.Desc
			kind prometheus.ValueType
			v    float64
		}{{c.names, gauge, float64(st.Names)}, {c.tombs, gauge, float64(st.Tombstones)}, {c.conflicts, counter, float64(st.Conflicts)},
			{c.grants, counter, float64(st.LockGrants)}, {c.waits, counter, float64(st.LockWaits)}, {c.waitSec, counter, st.LockWaitSeconds},
			{c.timeouts, counter, float64(st.LockTimeouts)}, {c.held, gauge, float64(st.LocksHeld)}, {c.lockLost, counter, float64(st.LockLost)}} {
			ch <- prometheus.MustNewConstMetric(m.d, m.kind, m.v, n)
		}
	}
	if s := c.b.scope; s != nil {
		gs, n := s.Groups(), s.Node().Self()
		ch <- prometheus.MustNewConstMetric(c.groups, prometheus.GaugeValue, float64(len(gs)), n)
		for _, g := range gs[:min(len(gs), maxGroupSeries)] {
			ch <- prometheus.MustNewConstMetric(c.groupSize, prometheus.GaugeValue, float64(g.Members), n, g.Name)
		}
	}
}
