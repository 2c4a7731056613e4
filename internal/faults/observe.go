package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// observeInterval is how often the observer reads every agent's view and
// hosted keys: the resolution of the duplicate and settle figures.
const observeInterval = 250 * time.Millisecond

// view is the latest view the observer read from one node.
type view struct {
	t        int64 // when it was read (CLOCK_MONOTONIC ns)
	members  []string
	checksum placement.Checksum
	quorum   bool
}

// observer polls every node's admin HTTP API (/api/view, /api/hosted)
// from inside the node's namespace, records what it reads as marks, and
// keeps the latest view of each node for the scenario's waits.
type observer struct {
	e       *env
	clients []*http.Client // per node
	mu      sync.Mutex     // guards views
	views   map[string]view
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startObserver starts the two polling loops.
func (e *env) startObserver() *observer {
	o := &observer{e: e, views: map[string]view{}}
	for _, n := range e.nodes {
		tr := &http.Transport{DialContext: e.net.Dialer(n.i), MaxIdleConnsPerHost: 2}
		o.clients = append(o.clients, &http.Client{Transport: tr})
	}
	ctx, cancel := context.WithCancel(e.ctx)
	o.cancel = cancel
	o.loop(ctx, o.pollViews)
	o.loop(ctx, o.pollHosted)
	return o
}

// loop runs poll every observeInterval on a tracked goroutine until ctx
// ends.
func (o *observer) loop(ctx context.Context, poll func(context.Context)) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		t := time.NewTicker(observeInterval)
		defer t.Stop()
		for {
			poll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stop ends the loops and closes the idle connections.
func (o *observer) stop() {
	o.cancel()
	o.wg.Wait()
	for _, c := range o.clients {
		c.CloseIdleConnections()
	}
}

// get reads path from node n's admin API into out.
func (o *observer) get(ctx context.Context, n *member, path string, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.http()+path, nil)
	if err != nil {
		return err
	}
	resp, err := o.clients[n.i-1].Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s: %s", n.name, path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// each runs f for every node in parallel and waits.
func (o *observer) each(f func(n *member)) {
	var wg sync.WaitGroup
	for _, n := range o.e.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(n)
		}()
	}
	wg.Wait()
}

// pollViews reads every node's view, marks it and keeps it.
func (o *observer) pollViews(ctx context.Context) {
	o.each(func(n *member) {
		var v placement.ViewInfo
		if o.get(ctx, n, "/api/view", 1500*time.Millisecond, &v) != nil {
			return
		}
		now := history.Now()
		members := make([]string, len(v.Members))
		for i, m := range v.Members {
			members[i] = m.Name
		}
		q := v.Quorum
		o.e.mark(history.Mark{T: now, Type: history.MarkView, Nodes: []string{n.name}, Members: members, Quorum: &q})
		o.mu.Lock()
		o.views[n.name] = view{t: now, members: members, checksum: v.Checksum, quorum: v.Quorum}
		o.mu.Unlock()
	})
}

// pollHosted reads every node's hosted keys and marks one snapshot.
func (o *observer) pollHosted(ctx context.Context) {
	var mu sync.Mutex
	m := history.Mark{Type: history.MarkHosted, Copies: map[string][]string{}, PIDs: map[string][]string{}}
	o.each(func(n *member) {
		var hs []placement.Hosted
		if o.get(ctx, n, "/api/hosted", 500*time.Millisecond, &hs) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		m.Nodes = append(m.Nodes, n.name)
		for _, h := range hs {
			id := h.Kind + "/" + h.Key
			m.Copies[id] = append(m.Copies[id], copyName(n.name, h.State))
			if h.PID != (node.PID{}) {
				m.PIDs[id] = append(m.PIDs[id], h.PID.String())
			}
		}
	})
	m.T = history.Now()
	sort.Strings(m.Nodes)
	for _, c := range m.Copies {
		sort.Strings(c)
	}
	o.e.mark(m)
}

// copyName is a Copies entry: the node, with ":state" unless active.
func copyName(node string, st placement.HostedState) string {
	if st == placement.StateActive {
		return node
	}
	return node + ":" + string(st)
}

// latest returns the views read at or after t.
func (o *observer) latest(t int64) map[string]view {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]view{}
	for name, v := range o.views {
		if v.t >= t {
			out[name] = v
		}
	}
	return out
}

// lookupOwners reads the owner of every key from node n's view.
func (o *observer) lookupOwners(ctx context.Context, n *member, keys []string) (map[string]string, error) {
	owners := map[string]string{}
	for _, key := range keys {
		var lk placement.Lookup
		if err := o.get(ctx, n, "/api/lookup?key="+key, time.Second, &lk); err != nil {
			return nil, err
		}
		owners[key] = lk.Owner
	}
	return owners, nil
}
