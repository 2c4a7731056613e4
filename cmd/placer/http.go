package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// adminBackend is what the admin HTTP server reads: the local cluster node
// (clusterBackend) or, for a hidden agent, a placement.Client.
type adminBackend interface {
	Members(ctx context.Context) (placement.Members, error)
	View(ctx context.Context) (placement.ViewInfo, error)
	Lookup(ctx context.Context, key string, n int) (placement.Lookup, error)
	Stats(ctx context.Context) (placement.StatsReport, error)
	Hosted(ctx context.Context) ([]placement.Hosted, error)
}

// clusterBackend serves the admin API from the local cluster node.
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

func (b clusterBackend) Stats(context.Context) (placement.StatsReport, error) {
	return b.c.StatsReport(), nil
}

func (b clusterBackend) Hosted(context.Context) ([]placement.Hosted, error) {
	return b.c.Hosted(), nil
}

// httpRequestTimeout bounds one admin API request.
const httpRequestTimeout = 5 * time.Second

// adminHTTP is the agent's admin HTTP server: a JSON API, Prometheus
// metrics and a dashboard. Its one goroutine (Serve) ends at Close.
type adminHTTP struct {
	srv  *http.Server
	addr string
	done chan struct{}
}

// startAdminHTTP listens on addr and serves b.
func startAdminHTTP(addr string, b adminBackend, log zerolog.Logger) (*adminHTTP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin http: %w", err)
	}
	h := &adminHTTP{addr: ln.Addr().String(), done: make(chan struct{})}
	h.srv = &http.Server{
		Handler: adminMux(b, log), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
	}
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin http stopped")
		}
	}()
	return h, nil
}

// Addr is the bound host:port.
func (h *adminHTTP) Addr() string { return h.addr }

// Close stops the server (in-flight requests get ctx to finish) and waits
// for its goroutine.
func (h *adminHTTP) Close(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, h.srv.Close())
	}
	<-h.done
	return err
}

// adminMux routes the admin API.
func adminMux(b adminBackend, log zerolog.Logger) *http.ServeMux {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatsCollector(b), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	api := func(path string, f func(ctx context.Context, r *http.Request) (any, error)) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), httpRequestTimeout)
			defer cancel()
			v, err := f(ctx, r)
			writeAPI(w, v, err, log)
		})
	}
	api("/api/members", func(ctx context.Context, _ *http.Request) (any, error) { return b.Members(ctx) })
	api("/api/view", func(ctx context.Context, _ *http.Request) (any, error) { return b.View(ctx) })
	api("/api/stats", func(ctx context.Context, _ *http.Request) (any, error) { return b.Stats(ctx) })
	api("/api/hosted", func(ctx context.Context, _ *http.Request) (any, error) { return b.Hosted(ctx) })
	api("/api/lookup", func(ctx context.Context, r *http.Request) (any, error) { return lookupQuery(ctx, b, r) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil, Timeout: httpRequestTimeout}))
	mux.HandleFunc("GET /{$}", serveDashboard)
	return mux
}

// errBadQuery is a malformed API query (HTTP 400).
var errBadQuery = errors.New("bad query")

// lookupQuery serves /api/lookup?key=K[&n=N].
func lookupQuery(ctx context.Context, b adminBackend, r *http.Request) (any, error) {
	key := r.URL.Query().Get("key")
	if key == "" {
		return nil, fmt.Errorf("%w: key is required (/api/lookup?key=K&n=N)", errBadQuery)
	}
	n := 1
	if s := r.URL.Query().Get("n"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > placement.MaxLookupN {
			return nil, fmt.Errorf("%w: n must be 1..%d", errBadQuery, placement.MaxLookupN)
		}
	}
	return b.Lookup(ctx, key, n)
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
	case errors.Is(err, errBadQuery), errors.Is(err, placement.ErrBadKey):
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
