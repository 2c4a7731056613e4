package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"runtime/trace"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/placerhq/placer/transport"
)

// transportCallerShift puts the caller's index in the top bits of a call's Ref, so
// a reply finds its caller without a map.
const transportCallerShift = 48

// transportPair is two transport endpoints on loopback: a sends, b receives and
// answers calls.
type transportPair struct {
	a, b   *transport.Endpoint
	ha, hb *transportHandler
	from   transport.PID // the caller process on a
	to     transport.PID // the callee process on b
}

func newTransportPair(bc TransportConfig) (*transportPair, error) {
	cookie := make([]byte, 32)
	if _, err := rand.Read(cookie); err != nil {
		return nil, err
	}
	p := &transportPair{ha: newTransportHandler(), hb: newTransportHandler()}
	var err error
	if p.a, err = transportListen("bench-a@127.0.0.1", cookie, bc, p.ha); err != nil {
		return nil, err
	}
	if p.b, err = transportListen("bench-b@127.0.0.1", cookie, bc, p.hb); err != nil {
		_ = p.a.Close()
		return nil, err
	}
	p.a.SetAddr(p.b.Name(), p.b.Addr())
	p.from = transport.PID{Node: p.a.Name(), ID: 1, Creation: 1}
	p.to = transport.PID{Node: p.b.Name(), ID: 1, Creation: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.a.Connect(ctx, p.b.Name()); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func transportListen(name string, cookie []byte, bc TransportConfig, h *transportHandler) (*transport.Endpoint, error) {
	cfg := transport.DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.ListenAddr, cfg.Creation = name, cookie, "127.0.0.1:0", 1
	if bc.BulkWindow > 0 {
		cfg.BulkWindow = bc.BulkWindow
	}
	if bc.FragmentSize > 0 {
		cfg.FragmentSize = bc.FragmentSize
	}
	ep, err := transport.Listen(cfg, h)
	if err != nil {
		return nil, err
	}
	h.ep.Store(ep)
	return ep, nil
}

func (p *transportPair) close() {
	_ = p.a.Close()
	_ = p.b.Close()
}

// transportHandler counts one-way messages, answers calls and routes replies.
type transportHandler struct {
	ep        atomic.Pointer[transport.Endpoint]
	recvd     atomic.Int64  // FrameSend messages received
	recvBytes atomic.Int64  // their payload bytes
	want      atomic.Int64  // recvd count that closes reached
	wantMu    sync.Mutex    // guards reached
	reached   chan struct{} // closed when recvd reaches want
	replies   [1 << 8]chan uint64
}

func newTransportHandler() *transportHandler {
	h := &transportHandler{}
	for i := range h.replies {
		h.replies[i] = make(chan uint64, 1)
	}
	return h
}

// expect arranges for the returned channel to close once n more messages
// have arrived.
func (h *transportHandler) expect(n int64) <-chan struct{} {
	h.wantMu.Lock()
	defer h.wantMu.Unlock()
	h.reached = make(chan struct{})
	h.want.Store(h.recvd.Load() + n)
	return h.reached
}

// HandleMessage implements transport.Handler.
func (h *transportHandler) HandleMessage(peer string, m *transport.Message) {
	switch m.Type {
	case transport.FrameSend:
		h.recvBytes.Add(int64(len(m.Payload)))
		if n := h.recvd.Add(1); n >= h.want.Load() {
			h.wantMu.Lock()
			if h.reached != nil && n >= h.want.Load() {
				close(h.reached)
				h.reached = nil
			}
			h.wantMu.Unlock()
		}
	case transport.FrameCall:
		reply := &transport.Message{Type: transport.FrameReply, To: m.From, Ref: m.Ref, Payload: m.Payload}
		_ = h.ep.Load().Send(context.Background(), peer, reply)
	case transport.FrameReply:
		select {
		case h.replies[(m.Ref>>transportCallerShift)%uint64(len(h.replies))] <- m.Ref:
		default:
		}
	}
}

// PeerUp implements transport.Handler.
func (h *transportHandler) PeerUp(transport.PeerInfo) {}

// PeerDown implements transport.Handler.
func (h *transportHandler) PeerDown(transport.PeerInfo, error) {}

// oneWay sends n messages from one goroutine and returns messages per
// second, measured until the last one is received.
func (p *transportPair) oneWay(ctx context.Context, n, payload int) (float64, error) {
	reached := p.hb.expect(int64(n))
	m := &transport.Message{Type: transport.FrameSend, From: p.from, To: p.to, Payload: make([]byte, payload)}
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := p.a.Send(ctx, p.b.Name(), m); err != nil {
			return 0, err
		}
	}
	select {
	case <-reached:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// call makes one call as caller idx and waits for its reply.
func (p *transportPair) call(ctx context.Context, idx int, seq uint64, m *transport.Message) error {
	m.Ref = uint64(idx)<<transportCallerShift | seq
	if err := p.a.Send(ctx, p.b.Name(), m); err != nil {
		return err
	}
	for {
		select {
		case ref := <-p.ha.replies[idx]:
			if ref == m.Ref {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("%w: call %d: %w", errTransportTimeout, seq, ctx.Err())
		}
	}
}

func (p *transportPair) callMsg(idx, payload int) *transport.Message {
	from := p.from
	from.ID = uint64(idx) + 1
	return &transport.Message{Type: transport.FrameCall, From: from, To: p.to, TTL: 5 * time.Second, Payload: make([]byte, payload)}
}

// callRTTs makes n sequential calls and returns their round-trip times.
// With g non-nil it also reports, per call, whether a GC cycle overlapped
// it (gcOverlap); the counters are read outside the timed interval. Each
// call is a "call" region in an execution trace, if one is being taken.
func (p *transportPair) callRTTs(ctx context.Context, n, payload int, g *gcProbe) ([]time.Duration, []bool, error) {
	m := p.callMsg(0, payload)
	rtts := make([]time.Duration, 0, n)
	var inGC []bool
	var before gcState
	for i := 1; i <= n; i++ {
		if g != nil {
			before = g.read()
		}
		start := time.Now()
		region := trace.StartRegion(ctx, "call")
		err := p.call(ctx, 0, uint64(i), m)
		region.End()
		rtts = append(rtts, time.Since(start))
		if err != nil {
			return nil, nil, err
		}
		if g != nil {
			inGC = append(inGC, gcOverlap(before, g.read()))
		}
	}
	return rtts, inGC, nil
}

// concurrentCalls runs k callers for d and returns calls per second.
func (p *transportPair) concurrentCalls(ctx context.Context, k int, d time.Duration, payload int) (float64, error) {
	var total atomic.Int64
	errs := make(chan error, k)
	start := time.Now()
	deadline := start.Add(d)
	for idx := 0; idx < k; idx++ {
		go func() {
			m := p.callMsg(idx, payload)
			var err error
			for seq := uint64(1); err == nil && time.Now().Before(deadline); seq++ {
				if err = p.call(ctx, idx, seq, m); err == nil {
					total.Add(1)
				}
			}
			errs <- err
		}()
	}
	var first error
	for i := 0; i < k; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return float64(total.Load()) / time.Since(start).Seconds(), first
}

// bulkRun is what one calls-under-bulk measurement found.
type bulkRun struct {
	rtts []time.Duration
	mbps float64 // throughput of the bulk stream, MB/s
	gc   gcFigures
}

// callsUnderBulk makes cfg.Calls sequential calls while another sender
// streams cfg.BulkSize-byte messages on the same connection, flat out
// (mbps 0) or paced at mbps MB/s. With tr non-nil it writes an execution
// trace of the calls to tr.
func (p *transportPair) callsUnderBulk(ctx context.Context, cfg TransportConfig, mbps float64, tr io.Writer) (bulkRun, error) {
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	bulkErr := make(chan error, 1)
	m := &transport.Message{Type: transport.FrameSend, From: transport.PID{Node: p.a.Name(), ID: 999, Creation: 1}, To: p.to, Payload: make([]byte, cfg.BulkSize)}
	flowing := p.hb.expect(2)
	go func() { bulkErr <- p.streamBulk(bctx, m, mbps) }()
	select {
	case <-flowing:
	case <-ctx.Done():
		stop()
		<-bulkErr
		return bulkRun{}, ctx.Err()
	}
	run, err := p.timedCallsUnderBulk(ctx, cfg, tr)
	stop()
	if berr := <-bulkErr; err == nil {
		err = berr
	}
	return run, err
}

// timedCallsUnderBulk is the measured part of callsUnderBulk, while the
// stream flows.
func (p *transportPair) timedCallsUnderBulk(ctx context.Context, cfg TransportConfig, tr io.Writer) (bulkRun, error) {
	if tr != nil {
		if err := trace.Start(tr); err != nil {
			return bulkRun{}, fmt.Errorf("execution trace: %w", err)
		}
		defer trace.Stop()
	}
	probe := newGCProbe()
	win := startGCWindow(probe)
	bytes0, start := p.hb.recvBytes.Load(), time.Now()
	rtts, inGC, err := p.callRTTs(ctx, cfg.Calls, cfg.Payload, probe)
	run := bulkRun{rtts: rtts, mbps: float64(p.hb.recvBytes.Load()-bytes0) / time.Since(start).Seconds() / 1e6}
	run.gc = win.finish(rtts, inGC)
	return run, err
}

// streamBulk sends m repeatedly until ctx ends, every len(m.Payload)/mbps
// if mbps > 0, else as fast as Send returns.
func (p *transportPair) streamBulk(ctx context.Context, m *transport.Message, mbps float64) error {
	var tick <-chan time.Time
	if mbps > 0 {
		t := time.NewTicker(time.Duration(float64(len(m.Payload)) / (mbps * 1e6) * float64(time.Second)))
		defer t.Stop()
		tick = t.C
	}
	for {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return nil
			}
		}
		if err := p.a.Send(ctx, p.b.Name(), m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// transportPercentileUS returns the q-th percentile of ds in microseconds.
func transportPercentileUS(ds []time.Duration, q int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)*q/100, len(s)-1)
	return float64(s[i]) / float64(time.Microsecond)
}
