package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/placerhq/placer/placement"
)

// fakeBackend answers fixed figures; Lookup records what it was asked.
type fakeBackend struct {
	key string
	n   int
}

func (f *fakeBackend) Members(context.Context) (placement.Members, error) {
	return placement.Members{Node: "a@h", Members: []placement.MemberInfo{{Name: "a@h", Status: "alive", Ring: true}}, Hidden: []string{}}, nil
}

func (f *fakeBackend) View(context.Context) (placement.ViewInfo, error) {
	return placement.ViewInfo{Node: "a@h", Epoch: 3}, nil
}

func (f *fakeBackend) Lookup(_ context.Context, key string, n int) (placement.Lookup, error) {
	f.key, f.n = key, n
	if key == "nomembers" {
		return placement.Lookup{}, placement.ErrNoMembers
	}
	return placement.Lookup{Node: "a@h", Key: key, Owner: "a@h", Owners: []string{"a@h"}}, nil
}

func (f *fakeBackend) Stats(context.Context) (placement.StatsReport, error) {
	r := placement.StatsReport{Node: "a@h", UptimeMS: 1500}
	r.Placement.Routed, r.Placement.Members = 7, 1
	r.Placement.ReplPromotions, r.Placement.ReplInflight, r.Placement.ReplBackups, r.Placement.Passive = 11, 3, 40, 12
	r.Transport = &placement.TransportStats{InboundAuthFailed: 999, InboundTimedOut: 3, InboundRefusedPerHost: 2, PendingInbound: 5}
	return r, nil
}

func (f *fakeBackend) Hosted(context.Context) ([]placement.Hosted, error) {
	return []placement.Hosted{{Kind: "counter", Key: "k"}}, nil
}

func (f *fakeBackend) LookupState(ctx context.Context, key string, n int) (placement.Lookup, error) {
	lk, err := f.Lookup(ctx, key, n)
	lk.Processes = []placement.Hosted{{Kind: "counter", Key: key, State: "active"}}
	return lk, err
}

func (f *fakeBackend) Ring(context.Context) (placement.RingInfo, error) {
	return placement.RingInfo{Node: "a@h", Checksum: 0x307ea7c0f6f3f046, Members: []placement.MemberShare{{Name: "a@h", Weight: 1, Share: 1}},
		Arcs: []placement.ShareArc{{Start: 0, End: 1, Owner: "a@h"}}}, nil
}

func (f *fakeBackend) WhatIf(_ context.Context, ch placement.WhatIfChange) (placement.WhatIf, error) {
	if ch.Op == "explode" {
		return placement.WhatIf{}, placement.ErrBadRequest
	}
	return placement.WhatIf{Node: "a@h", Change: ch, MovedShare: 0.5}, nil
}

func (f *fakeBackend) Samples(context.Context) ([]placement.NodeSamples, error) {
	return []placement.NodeSamples{{Node: "a@h", Samples: []placement.Sample{{MsgsPerS: 3}}}}, nil
}

func (f *fakeBackend) Watch(ctx context.Context) (<-chan placement.WatchEvent, error) {
	ch := make(chan placement.WatchEvent, 1)
	ch <- placement.WatchEvent{Type: placement.WatchNodeDown, Node: "b@h", Reason: "failed"}
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func newTestHandler(t *testing.T, b Backend) http.Handler {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Backend = b
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHandlerRoutes: every path answers what the backend says, with the
// API's JSON fields and status codes.
func TestHandlerRoutes(t *testing.T) {
	b := &fakeBackend{}
	h := newTestHandler(t, b)
	for path, want := range map[string]string{
		"/api/members":                     `"ring":true`,
		"/api/view":                        `"epoch":3`,
		"/api/stats":                       `"routed":7`,
		"/api/hosted":                      `"kind":"counter"`,
		"/api/lookup?key=a&n=2":            `"owners":[`,
		"/api/lookup?key=a&state=1&n=2":    `"state":"active"`,
		"/api/ring":                        `"checksum":"307ea7c0f6f3f046"`,
		"/api/nodes":                       `"msgs_per_s":3`,
		"/api/whatif?op=remove&member=a@h": `"moved_share":0.5`,
		"/assets/app.js":                   "EventSource",
		"/metrics":                         `placer_placement_routed_total{node="a@h"} 7`,
		"/":                                "<title>placer</title>",
	} {
		if code, body := get(t, h, path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want %q in %.300s", path, code, want, body)
		}
	}
	if b.key != "a" || b.n != 2 {
		t.Errorf("lookup asked for %q, %d", b.key, b.n)
	}
	for path, status := range map[string]int{
		"/api/lookup": 400, "/api/lookup?key=a&n=0": 400, "/api/lookup?key=nomembers": 503, "/nope": 404,
	} {
		if code, _ := get(t, h, path); code != status {
			t.Errorf("GET %s: %d, want %d", path, code, status)
		}
	}
}

// TestLookupBadQuery: a query string that does not parse is reported as
// such (it used to read as "key is required", since URL.Query drops the
// parse error).
func TestLookupBadQuery(t *testing.T) {
	h := newTestHandler(t, &fakeBackend{})
	for path, want := range map[string]string{
		"/api/lookup?key=%zz": "invalid URL escape",
		"/api/lookup?" + strings.Repeat("a=1&", 10_001) + "key=x": "exceeded limit",
	} {
		code, body := get(t, h, path)
		var e struct{ Error string }
		if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil ||
			!strings.Contains(e.Error, want) || strings.Contains(e.Error, "key is required") {
			t.Errorf("GET %.40s...: %d %s, want 400 naming %q", path, code, body, want)
		}
	}
}

// TestHandlerMountedUnderPrefix: the handler works under a prefix of the
// caller's mux, beside the caller's own routes.
func TestHandlerMountedUnderPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "mine") })
	mux.Handle("/placer/", http.StripPrefix("/placer", newTestHandler(t, &fakeBackend{})))
	if code, body := get(t, mux, "/placer/api/view"); code != 200 || !strings.Contains(body, `"epoch":3`) {
		t.Fatalf("mounted api: %d %s", code, body)
	}
	if code, body := get(t, mux, "/placer/"); code != 200 || !strings.Contains(body, "<title>placer</title>") {
		t.Fatalf("mounted dashboard: %d", code)
	}
	if _, body := get(t, mux, "/"); body != "mine" {
		t.Fatalf("the caller's route: %q", body)
	}
}

// TestCollectorInCallersRegistry: NewCollector registers with another
// registry, and Gatherer makes /metrics serve it.
func TestCollectorInCallersRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(&fakeBackend{}))
	cfg := DefaultConfig()
	cfg.Backend, cfg.Gatherer = &fakeBackend{}, reg
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, h, "/metrics")
	if code != 200 || !strings.Contains(body, `placer_up{node="a@h"} 1`) || strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics of the caller's registry: %d %.300s", code, body)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := NewHandler(DefaultConfig()); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("no backend: %v", err)
	}
	cfg := Config{Backend: &fakeBackend{}}
	if _, err := NewHandler(cfg); err != nil {
		t.Fatalf("zero timeout means the default: %v", err)
	}
	cfg.RequestTimeout = -1
	if _, err := NewHandler(cfg); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("negative timeout: %v", err)
	}
}

// TestTransportMetrics: the transport's handshake failures and rejections
// are exported per direction and reason.
func TestTransportMetrics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Backend = &fakeBackend{}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, body := get(t, h, "/metrics")
	for _, want := range []string{
		`placer_transport_handshake_failures_total{dir="inbound",node="a@h",reason="auth"} 999`,
		`placer_transport_handshake_failures_total{dir="inbound",node="a@h",reason="timeout"} 3`,
		`placer_transport_inbound_rejected_total{node="a@h",reason="per_host"} 2`,
		`placer_transport_pending_handshakes{node="a@h"} 5`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in\n%.2000s", want, body)
		}
	}
}

// TestReplicationMetrics: replication and passivation figures are
// exported.
func TestReplicationMetrics(t *testing.T) {
	_, body := get(t, newTestHandler(t, &fakeBackend{}), "/metrics")
	for _, want := range []string{
		`placer_repl_promotions_total{node="a@h"} 11`,
		`placer_repl_inflight{node="a@h"} 3`,
		`placer_repl_backups{node="a@h"} 40`,
		`placer_passive{node="a@h"} 12`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in\n%.2000s", want, body)
		}
	}
}

// TestPprofAndUpLabel: /debug/pprof/ is served when Pprof is on (off by
// default), and placer_up carries the node label like every other placer
// metric.
func TestPprofAndUpLabel(t *testing.T) {
	onCfg := DefaultConfig()
	onCfg.Backend, onCfg.Pprof = &fakeBackend{}, true
	on, err := NewHandler(onCfg)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, on, "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof: %d %.200s", code, body)
	}
	if code, body := get(t, on, "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200s", code, body)
	}
	if _, body := get(t, on, "/metrics"); !strings.Contains(body, `placer_up{node="a@h"} 1`) {
		t.Fatalf("placer_up without the node label:\n%.1500s", body)
	}
	off := newTestHandler(t, &fakeBackend{}) // DefaultConfig: Pprof false
	if code, _ := get(t, off, "/debug/pprof/"); code != 404 {
		t.Fatalf("pprof off by default: %d", code)
	}
}

// TestEventsAndWhatIfErrors: /api/events streams the backend's events as
// server-sent events; a bad what-if is a 400.
func TestEventsAndWhatIfErrors(t *testing.T) {
	h := newTestHandler(t, &fakeBackend{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/events", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	got := ""
	for !strings.Contains(got, "\n\ndata: ") || !strings.HasSuffix(got, "\n\n") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("%v after %q", err, got)
		}
		got += string(buf[:n])
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || !strings.Contains(got, `"type":"nodedown"`) || !strings.Contains(got, `"node":"b@h"`) {
		t.Fatalf("%s: %q", ct, got)
	}
	for path, status := range map[string]int{"/api/whatif?op=explode&member=a@h": 400, "/api/whatif?op=remove": 400, "/api/whatif?op=add&member=x&weight=z": 400} {
		if code, body := get(t, h, path); code != status {
			t.Errorf("GET %s: %d %s, want %d", path, code, body, status)
		}
	}
}
