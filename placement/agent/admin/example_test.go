package admin_test

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/admin"
)

// Mount placer's admin API and dashboard under /placer/ of a service's own
// mux, and its figures in the service's own Prometheus registry.
func Example() {
	var c *placement.Cluster // from placement.Start
	if c == nil {
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(admin.NewCollector(admin.ClusterBackend(c)))

	cfg := admin.DefaultConfig()
	cfg.Backend, cfg.Gatherer = admin.ClusterBackend(c), reg
	h, err := admin.NewHandler(cfg)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/placer/", http.StripPrefix("/placer", h)) // /placer/api/view, /placer/metrics, /placer/
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
