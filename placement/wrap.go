package placement

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/node"
)

// replicated wraps the behaviour of a replicated kind (KindSpec.Replicas ≥
// 2) or of a Merger: after every message and call it handles, the state
// goes to the backups (commit); a merge sent by placement at a heal runs
// MergeState. It forwards everything else to the kind's behaviour, so the
// handoff's type assertions (node.StateExporter, node.StateImporter) see
// the kind's own abilities (replicated kinds must have both).
type replicated struct {
	inner node.Behavior
	c     *Cluster
	spec  KindSpec
	id    keyID
	rep   *replState
}

// mergePrefix marks a merge message from placement to a Merger process:
// sent by this node's placement at a heal, or routed from another node
// whose copy of the key was superseded.
const mergePrefix = "\x00placer.merge\x00"

// isNodeIdentity reports whether pid is a node's own identity (the From
// of placement's frames: ID 0), not a process: only placement merges.
func isNodeIdentity(pid node.PID) bool { return pid.ID == 0 && pid.Node != "" }

// wrapKind returns f, wrapped if kind needs replication or merging.
func (c *Cluster) wrapKind(kind string, f node.KindFactory) node.KindFactory {
	spec := c.cfg.specFor(kind)
	_, merges := f().(Merger)
	if spec.Replicas < 2 && !merges {
		return f
	}
	return func() node.Behavior { return &replicated{inner: f(), c: c, spec: spec} }
}

// Init finds the copy's replication state in its entry and runs the
// kind's Init.
func (w *replicated) Init(p *node.Proc, args []byte) error {
	w.id = keyID{Kind: p.Kind(), Key: string(args)}
	if e := w.c.reg.get(w.id); e != nil {
		w.rep = e.replState()
	}
	if w.rep == nil {
		w.rep = &replState{term: 1} // not started by placement: replicated like a fresh copy
	}
	return w.inner.Init(p, args)
}

// HandleMessage runs the kind's handler (or, for a merge, MergeState) and
// commits the state.
func (w *replicated) HandleMessage(p *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok && isNodeIdentity(msg.From) && bytes.HasPrefix(msg.Payload, []byte(mergePrefix)) {
		if mg, ok := w.inner.(Merger); ok {
			if err := mg.MergeState(p, msg.Payload[len(mergePrefix):]); err != nil {
				w.c.warnKey("merge-failed", "merge at heal failed; the other copy's state is in the conflict event", w.id, "", err)
			}
		}
	} else {
		w.inner.HandleMessage(p, m)
	}
	if err := w.commit(p, false); errors.Is(err, ErrStateTooLarge) {
		w.c.warns.Warn("state-too-large", "message handled, its state not replicated: too large for a frame",
			func(ev *zerolog.Event) *zerolog.Event {
				return ev.Str("kind_name", w.id.Kind).Str("key", w.id.Key).Err(err)
			})
	} else if err != nil {
		w.c.log.Debug().Str("kind", w.id.Kind).Str("key", w.id.Key).Err(err).Msg("message handled, not replicated")
	}
}

// HandleCall runs the kind's handler and answers only once the state is
// on the backups (sync); a call whose replication failed fails, although
// its effect may remain (the caller may retry: at least once).
func (w *replicated) HandleCall(p *node.Proc, from node.PID, req []byte) ([]byte, error) {
	out, err := w.inner.HandleCall(p, from, req)
	if cerr := w.commit(p, false); cerr != nil {
		return nil, cerr
	}
	return out, err
}

// Terminate runs the kind's Terminate.
func (w *replicated) Terminate(p *node.Proc, r node.Reason) { w.inner.Terminate(p, r) }

// ExportState hands the kind's state over (handoff).
func (w *replicated) ExportState(p *node.Proc) ([]byte, error) {
	exp, ok := w.inner.(node.StateExporter)
	if !ok {
		return nil, fmt.Errorf("%w: kind %s does not export its state", node.ErrBadArg, w.id.Kind)
	}
	return exp.ExportState(p)
}

// ImportState starts from handed-off or promoted state, which then goes
// to the backups before the process serves anything.
func (w *replicated) ImportState(p *node.Proc, state []byte) error {
	imp, ok := w.inner.(node.StateImporter)
	if !ok {
		return fmt.Errorf("%w: kind %s does not import state", node.ErrBadArg, w.id.Kind)
	}
	if err := imp.ImportState(p, state); err != nil {
		return err
	}
	return w.commit(p, true)
}

// commit replicates the state if it changed (force: even if not). A copy
// found superseded stops its process: it must never answer again.
func (w *replicated) commit(p *node.Proc, force bool) error {
	if w.spec.Replicas < 2 {
		return nil
	}
	exp := w.inner.(node.StateExporter) // checked by Config.validateSpecs
	state, err := exp.ExportState(p)
	if err != nil {
		return fmt.Errorf("%w: export for replication: %w", ErrBusy, err)
	}
	m, ok := w.rep.next(w.id, state, force)
	if !ok {
		return nil // unchanged: nothing to send
	}
	err = w.c.replicateCopy(w.rep, w.id, w.spec, m)
	if errors.Is(err, errStale) {
		w.c.superseded(w.id, err, state)
		p.Exit(node.Reason{Kind: node.Error, Err: err.Error()})
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

// next prepares the update that replicates state, unless it equals what
// was last replicated (and force is false), and records it as the last.
func (r *replState) next(id keyID, state []byte, force bool) (replMsg, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !force && r.last != nil && bytes.Equal(state, r.last) {
		return replMsg{}, false
	}
	r.seq++
	r.last, r.exported = state, true
	return replMsg{op: rpUpdate, exported: true, term: r.term, seq: r.seq, kind: id.Kind, key: id.Key, state: state}, true
}
