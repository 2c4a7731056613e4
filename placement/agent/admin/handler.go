package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// Backend is what the admin API reads: the local cluster node
// (ClusterBackend) or, for a hidden node, a *placement.Client.
type Backend interface {
	Members(ctx context.Context) (placement.Members, error)
	View(ctx context.Context) (placement.ViewInfo, error)
	Lookup(ctx context.Context, key string, n int) (placement.Lookup, error)
	LookupState(ctx context.Context, key string, n int) (placement.Lookup, error)
	Stats(ctx context.Context) (placement.StatsReport, error)
	Hosted(ctx context.Context) ([]placement.Hosted, error)
	Ring(ctx context.Context) (placement.RingInfo, error)
	WhatIf(ctx context.Context, ch placement.WhatIfChange) (placement.WhatIf, error)
	Samples(ctx context.Context) ([]placement.NodeSamples, error)
	// Watch streams events until ctx ends (the channel is then closed).
	Watch(ctx context.Context) (<-chan placement.WatchEvent, error)
}

// ClusterBackend serves the admin API from the local cluster node c.
func ClusterBackend(c *placement.Cluster) Backend { return clusterBackend{c} }

// clusterBackend adapts a *placement.Cluster to Backend.
type clusterBackend struct{ c *placement.Cluster }

func (b clusterBackend) Members(context.Context) (placement.Members, error) {
	return b.c.Members(), nil
}

func (b clusterBackend) View(ctx context.Context) (placement.ViewInfo, error) {
	return b.c.ViewInfo(ctx), nil
}

func (b clusterBackend) Lookup(_ context.Context, key string, n int) (placement.Lookup, error) {
	return b.c.Lookup(key, n)
}

func (b clusterBackend) LookupState(ctx context.Context, key string, n int) (placement.Lookup, error) {
	return b.c.LookupState(ctx, key, n)
}

func (b clusterBackend) Stats(context.Context) (placement.StatsReport, error) {
	return b.c.StatsReport(), nil
}

func (b clusterBackend) Hosted(context.Context) ([]placement.Hosted, error) {
	return append(b.c.Hosted(), b.c.Backups()...), nil
}

func (b clusterBackend) Ring(context.Context) (placement.RingInfo, error) { return b.c.RingInfo() }

func (b clusterBackend) WhatIf(_ context.Context, ch placement.WhatIfChange) (placement.WhatIf, error) {
	return b.c.WhatIf(ch)
}

func (b clusterBackend) Samples(ctx context.Context) ([]placement.NodeSamples, error) {
	return b.c.AllSamples(ctx), nil
}

func (b clusterBackend) Watch(ctx context.Context) (<-chan placement.WatchEvent, error) {
	return b.c.Watch(ctx)
}

// NewHandler returns the admin HTTP handler of cfg.Backend: the JSON API
// (GET /api/members, /api/view, /api/stats, /api/hosted,
// /api/lookup?key=K[&n=N][&state=1], /api/ring, /api/nodes,
// /api/whatif?op=OP&member=M[&weight=W], and with WithServices /api/names,
// /api/groups, /api/locks), a server-sent event stream (GET /api/events),
// Prometheus metrics (GET /metrics), Go's profiles (GET /debug/pprof/,
// unless Config.Pprof is off) and the dashboard (GET /, its files under
// /assets/, embedded). Its links are relative, so it can be mounted under a
// prefix of the caller's own mux:
//
//	mux.Handle("/placer/", http.StripPrefix("/placer", h))
//
// It starts no goroutine; requests run on the server's.
func NewHandler(cfg Config) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &handler{b: cfg.Backend, timeout: cfg.RequestTimeout, log: cfg.Logger.With().Str("component", "http").Logger()}
	mux := http.NewServeMux()
	h.api(mux, "/api/members", func(ctx context.Context, _ *http.Request) (any, error) { return h.b.Members(ctx) })
	h.api(mux, "/api/view", func(ctx context.Context, _ *http.Request) (any, error) { return h.b.View(ctx) })
	h.api(mux, "/api/stats", func(ctx context.Context, _ *http.Request) (any, error) { return h.b.Stats(ctx) })
	h.api(mux, "/api/hosted", func(ctx context.Context, _ *http.Request) (any, error) { return h.b.Hosted(ctx) })
	h.api(mux, "/api/lookup", h.lookup)
	h.api(mux, "/api/ring", func(ctx context.Context, _ *http.Request) (any, error) { return h.b.Ring(ctx) })
	h.api(mux, "/api/nodes", func(ctx context.Context, _ *http.Request) (any, error) { return h.b.Samples(ctx) })
	h.api(mux, "/api/whatif", h.whatIf)
	mux.HandleFunc("GET /api/events", h.events)
	h.mountServices(mux) // /api/names, /api/groups, /api/locks (services.go)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.gatherer(), promhttp.HandlerOpts{Timeout: cfg.RequestTimeout}))
	mountDashboard(mux)
	if cfg.Pprof {
		mountPprof(mux)
	}
	return mux, nil
}

// handler serves the JSON API of one backend.
type handler struct {
	b       Backend
	timeout time.Duration
	log     zerolog.Logger
}

// api routes GET path to f, bounded by the request timeout.
func (h *handler) api(mux *http.ServeMux, path string, f func(ctx context.Context, r *http.Request) (any, error)) {
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		v, err := f(ctx, r)
		writeAPI(w, v, err, h.log)
	})
}

// lookup serves /api/lookup?key=K[&n=N]. A query that does not parse (a
// bad escape, too many parameters) is reported as such, not as a missing
// key.
func (h *handler) lookup(ctx context.Context, r *http.Request) (any, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	key := q.Get("key")
	if key == "" {
		return nil, fmt.Errorf("%w: key is required (/api/lookup?key=K&n=N)", ErrBadQuery)
	}
	n := 1
	if s := q.Get("n"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > placement.MaxLookupN {
			return nil, fmt.Errorf("%w: n must be 1..%d", ErrBadQuery, placement.MaxLookupN)
		}
	}
	if q.Get("state") != "" {
		return h.b.LookupState(ctx, key, n)
	}
	return h.b.Lookup(ctx, key, n)
}

// whatIf serves /api/whatif?op=remove|drain|add|weight&member=M[&weight=W].
func (h *handler) whatIf(ctx context.Context, r *http.Request) (any, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	ch := placement.WhatIfChange{Op: q.Get("op"), Member: q.Get("member")}
	if ch.Op == "" || ch.Member == "" {
		return nil, fmt.Errorf("%w: op and member are required (/api/whatif?op=remove&member=NAME)", ErrBadQuery)
	}
	if s := q.Get("weight"); s != "" {
		if ch.Weight, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("%w: weight %q is not a number", ErrBadQuery, s)
		}
	}
	return h.b.WhatIf(ctx, ch)
}

// writeAPI writes v as JSON, or err with a status that fits it.
func writeAPI(w http.ResponseWriter, v any, err error, log zerolog.Logger) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if err != nil {
		status, v = apiStatus(err), map[string]string{"error": err.Error()}
	}
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Debug().Err(err).Msg("admin http: response not written")
	}
}

// apiStatus maps an error to an HTTP status.
func apiStatus(err error) int {
	switch {
	case errors.Is(err, ErrBadQuery), errors.Is(err, placement.ErrBadKey), errors.Is(err, placement.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, placement.ErrNoMembers), errors.Is(err, placement.ErrNoQuorum):
		return http.StatusServiceUnavailable
	case errors.Is(err, node.ErrNoConnection):
		return http.StatusBadGateway
	case errors.Is(err, node.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// mountPprof serves net/http/pprof under /debug/pprof/ (relative to the
// handler's root, like the rest).
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
