package global

import (
	"context"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
)

// recoverName asks every visible node for its record of name (a fresh
// authority in a young view).
func (s *Service) recoverName(name string) []record {
	var out []record
	for _, b := range s.multiCall(svcCall{op: callRecoverName, id: name}) {
		hlc, rec, has, err := decodeRecoverName(b)
		if err != nil {
			s.stats.bad.Add(1)
			continue
		}
		s.clock.observe(hlc)
		if has {
			out = append(out, rec)
		}
	}
	s.stats.recoveries.Add(1)
	return out
}

// recoverLock asks every visible node which of its processes holds lock
// id, and learns every node's clock, so that the next token is larger than
// every token any of them has seen.
func (s *Service) recoverLock(id string) []LockInfo {
	var out []LockInfo
	for _, b := range s.multiCall(svcCall{op: callRecoverLock, id: id}) {
		hlc, l, has, err := decodeRecoverLock(b)
		if err != nil {
			s.stats.bad.Add(1)
			continue
		}
		s.clock.observe(hlc)
		if has {
			out = append(out, l)
		}
	}
	s.stats.recoveries.Add(1)
	return out
}

// multiCall calls the service on every visible node in parallel, bounded
// by RecoverTimeout, and returns the replies of those that answered.
func (s *Service) multiCall(c svcCall) [][]byte {
	n := s.Node()
	if n == nil {
		return nil
	}
	peers := n.Nodes(node.NodesVisible)
	if len(peers) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RecoverTimeout)
	defer cancel()
	c.hlc = s.clock.now()
	res, _ := n.MultiCallName(ctx, peers, ServiceName, c.encode())
	out := make([][]byte, 0, len(res))
	for _, b := range res {
		out = append(out, b)
	}
	return out
}

// authUp and authDown track the name authorities alive on this node (a
// live name this node owns without one gets a claim that restarts it).
func (s *Service) authUp(name string, pid node.PID) {
	s.mu.Lock()
	s.auths[name] = pid
	s.mu.Unlock()
}

func (s *Service) authDown(name string, pid node.PID) {
	s.mu.Lock()
	if s.auths[name] == pid {
		delete(s.auths, name)
	}
	s.mu.Unlock()
}

// nameConflict tells (or exits) the loser of a name held on both sides of
// a partition, from the authority process p.
func (s *Service) nameConflict(p *node.Proc, loser, winner record) {
	s.stats.conflicts.Add(1)
	s.log.Warn().Str("name", winner.name).Str("winner", winner.pid.String()).Str("loser", loser.pid.String()).
		Msg("global name held on both sides of a partition: resolved")
	if s.cfg.OnConflict == ExitLoser {
		_ = p.Node().Exit(loser.pid, node.Reason{Kind: node.Error, Err: "global name conflict: " + winner.name})
		return
	}
	s.notifyLoser(loser, winner)
}

// foldConflict sends the state of an authority copy that lost a
// placement conflict to the winning copy, as a claim; false for other
// kinds.
func (s *Service) foldConflict(cf placement.Conflict) bool {
	n := s.Node()
	if cf.Kind != KindName && cf.Kind != KindLock {
		return false
	}
	if n == nil || !cf.Exported {
		return true
	}
	var q request
	if cf.Kind == KindName {
		rec, _, _, err := decodeState(cf.State, cf.Key)
		if err != nil || rec.state == stateNone {
			return true
		}
		q = request{op: opClaim, rec: rec}
	} else {
		l, err := decodeLockState(cf.State)
		if err != nil {
			return true
		}
		tok := l.token
		if l.holder.IsZero() { // a free lock's claim still teaches the winner the loser's last token
			tok = l.last
		}
		q = request{op: opLockClaim, pid: l.holder, token: tok, count: uint64(l.count)}
	}
	q.hlc = s.clock.now()
	_ = n.Send(cf.WinnerPID, q.encode())
	s.stats.conflictsFolded.Add(1)
	return true
}
