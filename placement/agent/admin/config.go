package admin

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// Config configures NewHandler. Start from DefaultConfig (or a zero
// Config) and set Backend.
//
// Zero values: a zero field means its documented default (a bool's is
// false); NewHandler rejects any other value out of range with an error
// wrapping ErrBadConfig that names the field.
type Config struct {
	// Backend is what the API and the metrics read: ClusterBackend(c) for
	// a cluster member, a *placement.Client for a hidden node. Required.
	Backend Backend
	// Gatherer is what GET /metrics serves. Default nil: a registry of the
	// handler's own holding NewCollector(Backend) and the Go and process
	// collectors. Set it to the caller's registry (with NewCollector
	// registered there) to serve placer's figures beside the caller's.
	Gatherer prometheus.Gatherer
	// RequestTimeout bounds one API request or scrape. Default 5 s; a zero
	// value means the default.
	RequestTimeout time.Duration
	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on
	// the same listener. Default false: they are left out. The admin API
	// has no authentication: keep the listener on loopback or behind a
	// proxy that guards it.
	Pprof bool
	// Logger receives the handler's logs (a child with component=http).
	// Default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultConfig returns a Config with its defaults; Backend must still be
// set.
func DefaultConfig() Config {
	return Config{RequestTimeout: 5 * time.Second, Logger: zerolog.Nop()}
}

// validate checks c and fills the zero RequestTimeout.
func (c *Config) validate() error {
	switch {
	case c.Backend == nil:
		return fmt.Errorf("%w: Backend is required", ErrBadConfig)
	case c.RequestTimeout < 0:
		return fmt.Errorf("%w: RequestTimeout %v is negative (0 = default)", ErrBadConfig, c.RequestTimeout)
	case c.RequestTimeout == 0:
		c.RequestTimeout = DefaultConfig().RequestTimeout
	}
	return nil
}

// gatherer is c.Gatherer, or a registry of placer's, Go's and the
// process's collectors.
func (c *Config) gatherer() prometheus.Gatherer {
	if c.Gatherer != nil {
		return c.Gatherer
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(c.Backend), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sc := NewServicesCollector(c.Backend); sc != nil {
		reg.MustRegister(sc)
	}
	return reg
}
