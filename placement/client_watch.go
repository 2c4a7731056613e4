package placement

import (
	"context"
	"time"

	"github.com/placerhq/placer/node"
)

// watchBuffer is the capacity of a Watch channel.
const watchBuffer = 64

// Watch streams the cluster's events as an agent sees them: members
// coming up and going down (WatchNodeUp, WatchNodeDown, WatchUpdate) and
// the agent's view changes (WatchView). It first sends WatchAgent naming
// the agent it subscribed at. When that agent goes away, it sends
// WatchAgentDown and subscribes at the next reachable agent (retrying
// until ctx ends), then WatchAgent again; events of the gap are not
// replayed (read View and Members afresh).
//
// The channel is closed when ctx ends or the Client is closed. A reader
// that falls behind by more than 64 events stalls the stream (the agent
// keeps sending; its transport queue absorbs the burst), so read promptly.
func (cl *Client) Watch(ctx context.Context) (<-chan WatchEvent, error) {
	inbox, err := cl.node.NewInbox()
	if err != nil {
		return nil, err
	}
	_, start := cl.snapshot()
	agent, err := cl.subscribe(ctx, inbox, start)
	if err != nil {
		inbox.Close()
		return nil, err
	}
	out := make(chan WatchEvent, watchBuffer)
	if !cl.goTracked(func() { cl.watchLoop(ctx, inbox, agent, out) }) {
		inbox.Close()
		return nil, ErrShutdown
	}
	return out, nil
}

// subscribe registers inbox as a watcher at the first reachable agent
// from index start, and monitors that agent's node.
func (cl *Client) subscribe(ctx context.Context, inbox *node.Inbox, start int) (string, error) {
	_, agent, err := invokeFrom[struct{}](ctx, cl, RPCWatch, adminReq{PID: inbox.Self()}, true, start)
	if err != nil {
		return "", err
	}
	mctx, cancel := context.WithTimeout(ctx, cl.cfg.ConnectTimeout)
	inbox.MonitorNode(mctx, agent)
	cancel()
	return agent, nil
}

// watchLoop delivers the events inbox receives to out until ctx ends or
// the client closes, resubscribing when the agent goes away.
func (cl *Client) watchLoop(ctx context.Context, inbox *node.Inbox, agent string, out chan<- WatchEvent) {
	defer close(out)
	defer inbox.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(cl.ctx, cancel)
	defer stop()
	emit := func(ev WatchEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !emit(WatchEvent{Type: WatchAgent, Time: time.Now(), Agent: agent, Node: agent}) {
		return
	}
	for {
		m, err := inbox.Receive(ctx)
		if err != nil {
			return
		}
		switch m := m.(type) {
		case node.Message:
			ev, err := node.Decode[WatchEvent](cl.node, m.Payload)
			if err != nil {
				cl.log.Warn().Err(err).Msg("undecodable watch event")
				continue
			}
			if !emit(ev) {
				return
			}
		case node.NodeDown:
			if m.Node != agent {
				continue
			}
			reason := ""
			if m.Reason != nil {
				reason = m.Reason.Error()
			}
			if !emit(WatchEvent{Type: WatchAgentDown, Time: time.Now(), Agent: agent, Node: agent, Reason: reason}) {
				return
			}
			if agent = cl.resubscribe(ctx, inbox, agent); agent == "" ||
				!emit(WatchEvent{Type: WatchAgent, Time: time.Now(), Agent: agent, Node: agent}) {
				return
			}
		}
	}
}

// resubscribe subscribes at another agent (starting after lost), retrying
// with backoff until it succeeds or ctx ends ("" then).
func (cl *Client) resubscribe(ctx context.Context, inbox *node.Inbox, lost string) string {
	start := 0
	agents, _ := cl.snapshot()
	for i, a := range agents {
		if a.Name == lost {
			start = i + 1
		}
	}
	backoff := 100 * time.Millisecond
	for {
		agent, err := cl.subscribe(ctx, inbox, start)
		if err == nil {
			return agent
		}
		cl.log.Debug().Err(err).Msg("watch: no agent to resubscribe at yet")
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ""
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
