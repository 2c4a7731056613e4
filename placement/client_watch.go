package placement

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
)

// watchBuffer is the capacity of a Watch channel.
const watchBuffer = 64

// Watch streams the cluster's events as an agent sees them: members
// coming up and going down (WatchNodeUp, WatchNodeDown, WatchUpdate) and
// the agent's view changes (WatchView). It first sends WatchAgent naming
// the agent it subscribed at. When that agent goes away, it sends
// WatchAgentDown and subscribes at the next reachable agent (retrying
// until ctx ends), then WatchAgent again, followed by what changed in the
// gap as the new agent's membership shows it: a WatchNodeDown (Reason its
// status: "failed", "left", "leaving") for each member last seen up that
// is not alive now — the lost agent's own failure usually — and a
// WatchNodeUp (Reason "gap") for each alive member not seen before; both
// with Replayed set. A member that went down and came back up within the
// gap, and view changes, are not replayed (read View afresh).
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
	up := cl.aliveMembers(ctx, agent) // members seen up, kept by the events
	replayed := map[string]string{}   // member -> the type of the event replayed for it
	for {
		m, err := inbox.Receive(ctx)
		if err != nil {
			return
		}
		switch m := m.(type) {
		case node.Message:
			ev, err := node.Decode[WatchEvent](cl.node, m.Payload)
			if err != nil {
				cl.warns.Warn("watch-undecodable", "undecodable watch event", func(ev *zerolog.Event) *zerolog.Event { return ev.Err(err) })
				continue
			}
			if t, ok := replayed[ev.Node]; ok && (ev.Type == WatchNodeUp || ev.Type == WatchNodeDown) {
				delete(replayed, ev.Node)
				if t == ev.Type {
					continue // already told, from the new agent's membership
				}
			}
			switch ev.Type {
			case WatchNodeUp:
				up[ev.Node] = true
			case WatchNodeDown:
				delete(up, ev.Node)
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
			for _, ev := range cl.gapEvents(ctx, agent, up) {
				replayed[ev.Node] = ev.Type
				if !emit(ev) {
					return
				}
			}
		}
	}
}

// aliveMembers returns the members agent sees alive (empty if it cannot
// say).
func (cl *Client) aliveMembers(ctx context.Context, agent string) map[string]bool {
	up := map[string]bool{}
	ms, err := cl.membersAt(ctx, agent)
	if err != nil {
		return up
	}
	for _, m := range ms.Members {
		if m.Status == "alive" {
			up[m.Name] = true
		}
	}
	return up
}

// membersAt asks agent (not any agent) for its membership.
func (cl *Client) membersAt(ctx context.Context, agent string) (Members, error) {
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	args, err := node.Encode(cl.node, adminReq{})
	if err != nil {
		return Members{}, err
	}
	out, err := cl.node.RPC(ctx, agent, RPCMembers, args)
	if err != nil {
		return Members{}, err
	}
	return decodeAdmin[Members](cl.node, agent, out)
}

// gapEvents compares up (the members seen up before the agent was lost;
// updated) with agent's membership now and returns the changes as
// replayed events.
func (cl *Client) gapEvents(ctx context.Context, agent string, up map[string]bool) []WatchEvent {
	ms, err := cl.membersAt(ctx, agent)
	if err != nil {
		return nil
	}
	return gapChanges(up, ms, agent, time.Now())
}

// gapChanges is gapEvents' pure part.
func gapChanges(up map[string]bool, ms Members, agent string, now time.Time) []WatchEvent {
	status := map[string]string{}
	for _, m := range ms.Members {
		status[m.Name] = m.Status
	}
	var out []WatchEvent
	for _, name := range slices.Sorted(maps.Keys(up)) {
		if st := status[name]; st != "alive" {
			if st == "" {
				st = "reap"
			}
			delete(up, name)
			out = append(out, WatchEvent{Type: WatchNodeDown, Time: now, Agent: agent, Node: name, Reason: st, Replayed: true})
		}
	}
	for _, m := range ms.Members {
		if m.Status == "alive" && !up[m.Name] {
			up[m.Name] = true
			out = append(out, WatchEvent{Type: WatchNodeUp, Time: now, Agent: agent, Node: m.Name, Reason: "gap", Replayed: true})
		}
	}
	return out
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
