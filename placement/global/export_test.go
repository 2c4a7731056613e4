package global

import (
	"fmt"

	"github.com/placerhq/placer/node"
)

// DebugEntry describes name's replica entry on s, for test failures.
func (s *Service) DebugEntry(name string) string {
	e, ok := s.tab.get(name)
	s.mu.Lock()
	_, auth := s.auths[name]
	s.mu.Unlock()
	return fmt.Sprintf("owner=%s entry=%v{%+v auth=%q} authproc=%v", s.ownerOf(name), ok, e.rec, e.authority, auth)
}

// Held is name's replica record on s, kept to be claimed again later
// (ClaimAgain): what a node that has not heard of later changes would
// claim.
type Held struct{ rec record }

// HeldRecord returns name's replica record on s.
func (s *Service) HeldRecord(name string) Held {
	e, _ := s.tab.get(name)
	return Held{rec: e.rec}
}

// ClaimAgain routes a claim of h to its name's authority, from s: a claim
// that arrives late.
func (s *Service) ClaimAgain(h Held) { s.sendClaim(s.c(), h.rec) }

// NotifyLoser has s tell loser, the holder of name registered at reg, that
// it lost name to winner at a heal, as an authority on s does.
func (s *Service) NotifyLoser(name string, loser node.PID, reg uint64, winner node.PID) {
	s.notifyLoser(record{name: name, state: stateLive, pid: loser, reg: reg, version: reg},
		record{name: name, state: stateLive, pid: winner, reg: reg - 1, version: reg})
}
