package global

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/placerhq/placer/node"
)

// RegisterName registers pid under the global name (:global.register_name):
// nil is `yes`; an error matching ErrNameTaken (a *TakenError naming the
// holder) is `no`, when a live process already holds it. The name's
// authority serialises registrations, so while the cluster is connected a
// name has one holder. pid may be a process of any known node; it must be
// alive (a remote one costs one round trip to check). The registration ends
// when the process exits or its node goes down (DOWN noconnection: then the
// holder's node may claim it back), or with UnregisterName. Registering the
// holder again is `yes`. The calling node sees the name at once; the others
// when the authority's dissemination reaches them.
func (s *Service) RegisterName(ctx context.Context, name string, pid node.PID) error {
	if err := s.checkHolder(ctx, name, pid); err != nil {
		return err
	}
	p, err := s.ask(ctx, KindName, name, request{op: opRegister, pid: pid}, replyRecord, true)
	if err != nil {
		return err
	}
	switch p.status {
	case stOK:
		s.applyReply(p.rec)
		return nil
	case stTaken:
		s.applyReply(p.rec)
		return &TakenError{Name: name, Holder: p.rec.pid}
	}
	return statusErr(p, name)
}

// checkHolder refuses bad input before anything is sent.
func (s *Service) checkHolder(ctx context.Context, name string, pid node.PID) error {
	if err := s.checkIDPID(name, pid); err != nil {
		return err
	}
	switch {
	case !s.known(pid.Node):
		return fmt.Errorf("%w: %s", ErrUnknownNode, pid.Node)
	case pid.Node == s.name && !s.localAlive(pid):
		return fmt.Errorf("%w: %v: %w", ErrNoProc, pid, node.ErrNoProc)
	case pid.Node != s.name:
		return s.remoteAlive(ctx, pid)
	}
	return nil
}

// remoteAlive asks pid's node whether pid lives (a node without the
// service cannot tell: the authority's monitor then decides).
func (s *Service) remoteAlive(ctx context.Context, pid node.PID) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	b, err := s.Node().Call(ctx, node.Named{Name: ServiceName, Node: pid.Node}, svcCall{op: callAlive, hlc: s.clock.now(), pid: pid}.encode())
	switch {
	case errors.Is(err, node.ErrNoProc):
		return nil
	case err != nil:
		return err
	case len(b) != 1 || b[0] != 1:
		return fmt.Errorf("%w: %v: %w", ErrNoProc, pid, node.ErrNoProc)
	}
	return nil
}

// UnregisterName ends the registration of name, whoever holds it
// (:global.unregister_name); ErrNotRegistered if none was live. The name
// stays unregistered everywhere, also after a partition heals (tombstones,
// Config.TombstoneTTL).
func (s *Service) UnregisterName(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	p, err := s.ask(ctx, KindName, name, request{op: opUnregister}, replyRecord, false)
	if err != nil {
		return err
	}
	if p.status != stOK {
		return statusErr(p, name)
	}
	s.applyReply(p.rec)
	return nil
}

// WhereisName returns the holder of name from this node's replica: a local
// read, no round trip (:global.whereis_name). It may lag the authority by
// one dissemination; SendName and CallName re-resolve a stale entry.
func (s *Service) WhereisName(name string) (node.PID, bool) { return s.tab.whereis(name) }

// RegisteredNames lists the live names of this node's replica, sorted
// (:global.registered_names).
func (s *Service) RegisteredNames() []string {
	recs := s.tab.live()
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.name
	}
	return out
}

// NameInfo is a live name as this node's replica holds it.
type NameInfo struct {
	Name       string    `json:"name"`
	PID        node.PID  `json:"pid"`
	Registered time.Time `json:"registered"` // HLCTime of the registration
	Version    uint64    `json:"version"`    // HLC timestamp of the last change
	Authority  string    `json:"authority"`  // the owner whose authority confirmed it ("" while a claim is due)
}

// Names lists the live names of this node's replica with their details.
func (s *Service) Names() []NameInfo {
	out := []NameInfo{}
	for _, e := range s.tab.snapshot() {
		if e.rec.live() {
			out = append(out, NameInfo{Name: e.rec.name, PID: e.rec.pid, Registered: HLCTime(e.rec.reg),
				Version: e.rec.version, Authority: e.authority})
		}
	}
	sortNames(out)
	return out
}

// ResolveName asks the name's authority for its holder (not the replica);
// an error matching ErrNoProc if none.
func (s *Service) ResolveName(ctx context.Context, name string) (node.PID, error) {
	if err := checkName(name); err != nil {
		return node.PID{}, err
	}
	p, err := s.ask(ctx, KindName, name, request{op: opResolve}, replyRecord, true)
	if err != nil {
		return node.PID{}, err
	}
	if p.status != stOK {
		return node.PID{}, statusErr(p, name)
	}
	s.applyReply(p.rec)
	if !p.rec.live() {
		return node.PID{}, fmt.Errorf("%w: %q is not registered", ErrNoProc, name)
	}
	return p.rec.pid, nil
}
