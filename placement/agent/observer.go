package agent

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/placement"
)

// observer logs the events a hidden agent sees until stopped.
type observer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startObserver(cl *placement.Client, log zerolog.Logger) (*observer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	events, err := cl.Watch(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	o := &observer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for ev := range events {
			if ev.Type == placement.WatchNodeUp || ev.Type == placement.WatchAgent {
				learnMembers(cl)
			}
			log.Info().Str("event", ev.Type).Str("node", ev.Node).Str("reason", ev.Reason).
				Uint64("epoch", ev.Epoch).Int("members", ev.Members).Str("agent", ev.Agent).Msg("cluster event")
		}
	}()
	return o, nil
}

// learnMembers refreshes the client's list of agents to fail over to.
func learnMembers(cl *placement.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = cl.Members(ctx)
}

// stop ends the observer and waits for its goroutine. Idempotent.
func (o *observer) stop() {
	o.cancel()
	<-o.done
}
