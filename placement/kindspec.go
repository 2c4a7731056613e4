package placement

import (
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
)

// KindSpec configures how a keyed kind is kept (Config.KindSpecs).
type KindSpec struct {
	// Replicas is R, the number of copies of each key's state: the primary
	// on the key's ring owner and backups on the next R−1 members of its
	// preference list (View.OwnerN: the members that take the key, in
	// order, when the ones before them leave). With R ≥ 2 a key survives the crash
	// or the pause of its owner with every acknowledged write (see
	// docs/placement.md, "Replication"); the kind must implement
	// node.StateExporter and node.StateImporter, and its handlers should be
	// deterministic in the state they leave. Default 1: no copies; a
	// crashed owner's keys restart fresh (or, for a Merger, merge at heal).
	// Range 1..5.
	Replicas int
	// Async replicates without waiting: a call is answered as soon as the
	// primary handled it, and backups trail by at most MaxLag updates (a
	// writer waits when they trail more). Faster, but a crash can lose the
	// last unreplicated writes. Default false: sync (a call is answered
	// once every live backup has its effect; a send is replicated before
	// the next message is handled).
	Async bool
	// MaxLag bounds how many updates async replication may have in flight
	// per key. Default 64.
	MaxLag int
	// IdleTimeout passivates a key's process after it handled no request
	// for this long: the process stops, its exported state stays in the
	// node (and on the backups) and the next request starts it again from
	// it, transparently. Checked every ReconcileInterval. The kind must
	// implement node.StateExporter and node.StateImporter. Default 0:
	// never.
	IdleTimeout time.Duration
	// MaxLive caps this kind's live processes per node: beyond it the
	// least recently used are passivated (at each ReconcileInterval).
	// Default 0: no cap.
	MaxLive int
}

// Merger is implemented by kinds whose copies can be merged: when a heal
// finds a key live on two sides with no way to tell which is newer (two
// fresh starts, R = 1), the surviving process gets the other copy's
// exported state in MergeState, on its own goroutine, instead of it going
// only to Config.Conflict. placer's kv kind merges per entry, last writer
// wins by a hybrid logical clock.
type Merger interface {
	MergeState(p *node.Proc, other []byte) error
}

// maxReplicas bounds KindSpec.Replicas.
const maxReplicas = 5

// specFor returns the spec of kind (defaults filled in).
func (c *Config) specFor(kind string) KindSpec {
	s := c.KindSpecs[kind]
	if s.Replicas == 0 {
		s.Replicas = 1
	}
	if s.MaxLag == 0 {
		s.MaxLag = 64
	}
	return s
}

// validateSpecs checks every KindSpec: a known kind, R in range, and the
// state interfaces replication needs.
func (c *Config) validateSpecs() error {
	for kind, s := range c.KindSpecs {
		f, ok := c.Kinds[kind]
		switch {
		case !ok:
			return fmt.Errorf("%w: KindSpecs[%q]: no such kind in Kinds", ErrBadConfig, kind)
		case s.Replicas < 0 || s.Replicas > maxReplicas:
			return fmt.Errorf("%w: KindSpecs[%q].Replicas %d not in 1..%d", ErrBadConfig, kind, s.Replicas, maxReplicas)
		case s.MaxLag < 0:
			return fmt.Errorf("%w: KindSpecs[%q].MaxLag %d is negative", ErrBadConfig, kind, s.MaxLag)
		case s.IdleTimeout < 0 || s.MaxLive < 0:
			return fmt.Errorf("%w: KindSpecs[%q]: IdleTimeout and MaxLive must not be negative", ErrBadConfig, kind)
		case (s.Replicas > 1 || s.IdleTimeout > 0 || s.MaxLive > 0) && !exportsState(f):
			return fmt.Errorf("%w: kind %q is replicated or passivated but does not implement node.StateExporter and node.StateImporter", ErrBadConfig, kind)
		}
	}
	return nil
}

// exportsState reports whether the kind's behaviours can hand their state
// over (one is made to look).
func exportsState(f node.KindFactory) bool {
	b := f()
	_, exp := b.(node.StateExporter)
	_, imp := b.(node.StateImporter)
	return exp && imp
}

// replicaTimeout bounds one replication round trip to the backups (and
// its retries while a backup's view lags).
const replicaTimeout = 2 * time.Second
