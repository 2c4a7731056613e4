package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// TransportConfig sizes `placer bench transport`. Zero fields take the
// defaults of DefaultTransportConfig; RunTransport refuses any other value
// out of range with ErrBadConfig.
type TransportConfig struct {
	// Messages is the number of one-way messages (and raw TCP frames) for
	// msgs_per_s and tcp_frames_per_s. Default 2,000,000.
	Messages int `json:"messages"`
	// Calls is the number of sequential calls (and raw TCP ping-pongs)
	// behind each round-trip percentile. Default 20,000.
	Calls int `json:"calls"`
	// Callers is the number of concurrent callers for calls_per_s_16.
	// Default 16.
	Callers int `json:"callers"`
	// CallersDuration is how long the concurrent callers run. Default 2 s.
	CallersDuration time.Duration `json:"callers_duration_ns"`
	// Payload is the payload size of messages, calls and raw TCP frames,
	// in bytes. Default 64.
	Payload int `json:"payload_bytes"`
	// BulkSize is the size of each message of the bulk stream, in bytes.
	// Default 1 MiB minus 1 KiB, so that a bulk message with its header
	// fits the default 1 MiB frame limit.
	BulkSize int `json:"bulk_bytes"`
	// PacedBulkMBps is the rate of the paced bulk stream, in MB/s (10^6
	// bytes). Default 100.
	PacedBulkMBps float64 `json:"paced_bulk_mb_per_s"`
	// BulkWindow and FragmentSize, if positive, replace the transport's
	// defaults (transport.Config) on both endpoints, to measure the
	// trade-off between bulk throughput and call latency under bulk.
	BulkWindow   int `json:"bulk_window_bytes,omitempty"`
	FragmentSize int `json:"fragment_bytes,omitempty"`
	// Trace, if non-nil, receives a runtime/trace execution trace of the
	// calls under the flat-out bulk stream (each call a "call" region),
	// for `go tool trace`. Nil: no trace.
	Trace io.Writer `json:"-"`
}

// DefaultTransportConfig returns the sizes `placer bench transport` uses.
func DefaultTransportConfig() TransportConfig {
	return TransportConfig{
		Messages:        2_000_000,
		Calls:           20_000,
		Callers:         16,
		CallersDuration: 2 * time.Second,
		Payload:         64,
		BulkSize:        1<<20 - 1<<10,
		PacedBulkMBps:   100,
	}
}

func (c TransportConfig) withDefaults() TransportConfig {
	d := DefaultTransportConfig()
	pick := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	pick(&c.Messages, d.Messages)
	pick(&c.Calls, d.Calls)
	pick(&c.Callers, d.Callers)
	pick(&c.Payload, d.Payload)
	pick(&c.BulkSize, d.BulkSize)
	if c.CallersDuration == 0 {
		c.CallersDuration = d.CallersDuration
	}
	if c.PacedBulkMBps == 0 {
		c.PacedBulkMBps = d.PacedBulkMBps
	}
	return c
}

// validate checks c once withDefaults ran.
func (c TransportConfig) validate() error {
	for name, v := range map[string]int{"Messages": c.Messages, "Calls": c.Calls, "Callers": c.Callers,
		"Payload": c.Payload, "BulkSize": c.BulkSize, "BulkWindow": c.BulkWindow, "FragmentSize": c.FragmentSize} {
		if v < 0 {
			return fmt.Errorf("%w: %s %d is negative (0 = default)", ErrBadConfig, name, v)
		}
	}
	switch {
	case c.CallersDuration < 0 || c.PacedBulkMBps < 0:
		return fmt.Errorf("%w: CallersDuration %v and PacedBulkMBps %v must not be negative (0 = default)", ErrBadConfig, c.CallersDuration, c.PacedBulkMBps)
	case c.BulkSize > 1<<20-256:
		return fmt.Errorf("%w: BulkSize %d above %d", ErrBadConfig, c.BulkSize, 1<<20-256)
	}
	return nil
}

// TransportResult holds the figures of one run. The first eight JSON field
// names are the ones issue 3 specifies.
type TransportResult struct {
	MsgsPerS              float64 `json:"msgs_per_s"`
	TCPFramesPerS         float64 `json:"tcp_frames_per_s"`
	CallRTTP50us          float64 `json:"call_rtt_p50_us"`
	CallRTTP99us          float64 `json:"call_rtt_p99_us"`
	TCPRTTP50us           float64 `json:"tcp_rtt_p50_us"`
	TCPRTTP99us           float64 `json:"tcp_rtt_p99_us"`
	CallsPerS16           float64 `json:"calls_per_s_16"`
	CallRTTP99UnderBulkus float64 `json:"call_rtt_p99_under_bulk_us"`
	// BulkMBPerS is the throughput of the unpaced bulk stream (as fast as
	// the connection takes it) during call_rtt_p99_under_bulk_us, in MB/s.
	BulkMBPerS float64 `json:"bulk_mb_per_s"`
	// CallRTTP99UnderPacedBulkus is the small-call p99 while bulk
	// messages are sent at Config.PacedBulkMBps instead of flat out.
	CallRTTP99UnderPacedBulkus float64 `json:"call_rtt_p99_under_paced_bulk_us"`
	// PacedBulkMBPerS is the throughput the paced stream reached.
	PacedBulkMBPerS float64 `json:"paced_bulk_mb_per_s"`
	// The garbage collector during the flat-out bulk measurement (the
	// receiving handler owns every 1 MiB payload, so the stream allocates
	// as fast as it flows). GCCyclesPerSUnderBulk is cycles per second;
	// GCPauseP50usUnderBulk and GCPauseMaxusUnderBulk are its
	// stop-the-world pauses in µs (upper bounds of the runtime's histogram
	// buckets); CallsInGCUnderBulk is the fraction of the calls that
	// overlapped a cycle (a pause or the marking between its two pauses);
	// CallRTTP99UnderBulkGCFreeus is the p99 round trip of the other calls.
	GCCyclesPerSUnderBulk       float64 `json:"gc_cycles_per_s_under_bulk"`
	GCPauseP50usUnderBulk       float64 `json:"gc_pause_p50_us_under_bulk"`
	GCPauseMaxusUnderBulk       float64 `json:"gc_pause_max_us_under_bulk"`
	CallsInGCUnderBulk          float64 `json:"calls_in_gc_share_under_bulk"`
	CallRTTP99UnderBulkGCFreeus float64 `json:"call_rtt_p99_under_bulk_gc_free_us"`
	// GCCyclesPerSUnderPacedBulk is GC cycles per second under the paced stream.
	GCCyclesPerSUnderPacedBulk float64 `json:"gc_cycles_per_s_under_paced_bulk"`
	// Targets are the targets, evaluated on this run.
	Targets []Target `json:"targets"`
	// Config echoes the sizes used.
	Config TransportConfig `json:"config"`
}

// Target is one performance target checked against a run.
type Target struct {
	Name  string  `json:"name"`  // e.g. "call_rtt_p50_us <= 1.5 x tcp_rtt_p50_us"
	Value float64 `json:"value"` // the measured left-hand side
	Limit float64 `json:"limit"` // the right-hand side, from this run's baseline
	Met   bool    `json:"met"`
}

var errTransportTimeout = errors.New("bench: timed out waiting for the peer")

// RunTransport runs the transport benchmark: two endpoints on 127.0.0.1 in
// this process, and a raw-TCP baseline measured in the same run.
func RunTransport(ctx context.Context, cfg TransportConfig) (TransportResult, error) {
	cfg = cfg.withDefaults()
	res := TransportResult{Config: cfg}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	var err error
	if res.TCPFramesPerS, err = tcpFrames(ctx, cfg.Messages, cfg.Payload); err != nil {
		return res, fmt.Errorf("raw TCP frames: %w", err)
	}
	if res.TCPRTTP50us, res.TCPRTTP99us, err = tcpPingPong(ctx, cfg.Calls, cfg.Payload); err != nil {
		return res, fmt.Errorf("raw TCP ping-pong: %w", err)
	}
	p, err := newTransportPair(cfg)
	if err != nil {
		return res, err
	}
	defer p.close()
	if err := p.measure(ctx, cfg, &res); err != nil {
		return res, err
	}
	res.Targets = transportTargets(res)
	return res, nil
}

func (p *transportPair) measure(ctx context.Context, cfg TransportConfig, res *TransportResult) error {
	var err error
	if res.MsgsPerS, err = p.oneWay(ctx, cfg.Messages, cfg.Payload); err != nil {
		return fmt.Errorf("one-way messages: %w", err)
	}
	if _, _, err = p.callRTTs(ctx, cfg.Calls/10+1, cfg.Payload, nil); err != nil { // warm-up
		return fmt.Errorf("calls: %w", err)
	}
	rtts, _, err := p.callRTTs(ctx, cfg.Calls, cfg.Payload, nil)
	if err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	res.CallRTTP50us, res.CallRTTP99us = transportPercentileUS(rtts, 50), transportPercentileUS(rtts, 99)
	if res.CallsPerS16, err = p.concurrentCalls(ctx, cfg.Callers, cfg.CallersDuration, cfg.Payload); err != nil {
		return fmt.Errorf("concurrent calls: %w", err)
	}
	return p.measureBulk(ctx, cfg, res)
}

// measureBulk measures calls under the flat-out and the paced bulk stream.
func (p *transportPair) measureBulk(ctx context.Context, cfg TransportConfig, res *TransportResult) error {
	run, err := p.callsUnderBulk(ctx, cfg, 0, cfg.Trace)
	if err != nil {
		return fmt.Errorf("calls under bulk: %w", err)
	}
	res.CallRTTP99UnderBulkus, res.BulkMBPerS = transportPercentileUS(run.rtts, 99), run.mbps
	res.GCCyclesPerSUnderBulk, res.CallsInGCUnderBulk = run.gc.cyclesPerS, run.gc.callsInGC
	res.GCPauseP50usUnderBulk, res.GCPauseMaxusUnderBulk = run.gc.pauseP50us, run.gc.pauseMaxus
	res.CallRTTP99UnderBulkGCFreeus = run.gc.p99GCFreeus
	if run, err = p.callsUnderBulk(ctx, cfg, cfg.PacedBulkMBps, nil); err != nil {
		return fmt.Errorf("calls under paced bulk: %w", err)
	}
	res.CallRTTP99UnderPacedBulkus, res.PacedBulkMBPerS = transportPercentileUS(run.rtts, 99), run.mbps
	res.GCCyclesPerSUnderPacedBulk = run.gc.cyclesPerS
	return nil
}

func transportTargets(r TransportResult) []Target {
	t := []Target{
		{Name: "call_rtt_p50_us <= 1.5 x tcp_rtt_p50_us", Value: r.CallRTTP50us, Limit: 1.5 * r.TCPRTTP50us},
		{Name: "msgs_per_s >= 0.1 x tcp_frames_per_s", Value: r.MsgsPerS, Limit: 0.1 * r.TCPFramesPerS},
		{Name: "call_rtt_p99_under_bulk_us <= 2 x call_rtt_p99_us", Value: r.CallRTTP99UnderBulkus, Limit: 2 * r.CallRTTP99us},
		{Name: "(paced) call_rtt_p99_under_paced_bulk_us <= 2 x call_rtt_p99_us", Value: r.CallRTTP99UnderPacedBulkus, Limit: 2 * r.CallRTTP99us},
	}
	for i := range t {
		if i == 1 {
			t[i].Met = t[i].Value >= t[i].Limit
		} else {
			t[i].Met = t[i].Value <= t[i].Limit
		}
	}
	return t
}
