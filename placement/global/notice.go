package global

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/placerhq/placer/node"
)

// Notices are the messages the service sends to a process that lost
// something at a heal. They are node messages whose payload starts with a
// fixed magic, so a process tells them from its own traffic with
// ParseNameConflict and ParseLockLost (they do not depend on the node's
// codec).
//
//	name conflict: "\x00placer.global.conflict\x01" | string name | PID winner
//	lock lost:     "\x00placer.global.locklost\x01" | string id | u64 token | PID winner
var (
	magicConflict = []byte("\x00placer.global.conflict\x01")
	magicLockLost = []byte("\x00placer.global.locklost\x01")
)

// NameConflict tells the loser of a name that was registered on both
// sides of a partition that the name now belongs to Winner
// (:global's {global_name_conflict, Name, OtherPid}).
type NameConflict struct {
	Name   string
	Winner node.PID
}

// LockLost tells a holder that a heal (or a failover) found lock ID held
// by another requester with a larger fencing token: the lock is no longer
// its own, and a fenced resource refuses Token from now on.
type LockLost struct {
	ID     string
	Token  uint64 // the loser's token
	Winner node.PID
}

func (c NameConflict) encode() []byte {
	return appendPID(appendStr(bytes.Clone(magicConflict), c.Name), c.Winner)
}

func (l LockLost) encode() []byte {
	b := binary.BigEndian.AppendUint64(appendStr(bytes.Clone(magicLockLost), l.ID), l.Token)
	return appendPID(b, l.Winner)
}

// ParseNameConflict decodes a NameConflict notice; ok is false for any
// other payload.
func ParseNameConflict(payload []byte) (NameConflict, bool) {
	rest, ok := bytes.CutPrefix(payload, magicConflict)
	if !ok {
		return NameConflict{}, false
	}
	r := reader{b: rest}
	c := NameConflict{Name: r.name(), Winner: r.pid()}
	return c, r.end() == nil
}

// ParseLockLost decodes a LockLost notice; ok is false for any other
// payload.
func ParseLockLost(payload []byte) (LockLost, bool) {
	rest, ok := bytes.CutPrefix(payload, magicLockLost)
	if !ok {
		return LockLost{}, false
	}
	r := reader{b: rest}
	l := LockLost{ID: r.name(), Token: r.u64(), Winner: r.pid()}
	return l, r.end() == nil
}

// notifyLoser has the loser's node tell it (tellLoser), at once if that is
// this node. The notice is sent directly, not by the sender: unlike a
// dissemination it may connect (at a heal the name's authority may not be
// connected to the loser's node yet), as the authority's own send to the
// loser did before notices went through its node.
func (s *Service) notifyLoser(loser, winner record) {
	if loser.pid.Node == s.name {
		s.tellLoser(loser, winner)
		return
	}
	n := s.Node()
	if n == nil {
		return
	}
	m := svcMsg{op: msgConflict, hlc: s.clock.now(), recs: []record{loser, winner}}
	if err := s.sendMsgs(n, loser.pid.Node, []svcMsg{m}); err != nil {
		s.log.Debug().Str("name", loser.name).Str("loser", loser.pid.String()).Err(err).Msg("name conflict notice not sent")
	}
}

// tellLoser sends a local process that lost a name at a heal its
// NameConflict, once per lost registration: the authorities of both sides
// may each resolve the conflict before they merge, and each tells this
// node. A registration is remembered for TombstoneTTL.
func (s *Service) tellLoser(loser, winner record) {
	if loser.pid.Node != s.name || loser.name != winner.name {
		s.stats.bad.Add(1)
		return
	}
	now := time.Now()
	k := toldKey{name: loser.name, pid: loser.pid, reg: loser.reg}
	s.mu.Lock()
	for len(s.toldOrder) > 0 && now.Sub(s.toldOrder[0].at) > s.cfg.TombstoneTTL {
		delete(s.told, s.toldOrder[0].key)
		s.toldOrder = s.toldOrder[1:]
	}
	_, dup := s.told[k]
	if !dup {
		s.told[k] = struct{}{}
		s.toldOrder = append(s.toldOrder, toldAt{key: k, at: now})
	}
	s.mu.Unlock()
	if dup {
		s.stats.conflictsDup.Add(1)
		return
	}
	if n := s.Node(); n != nil {
		_ = n.SendFrom(s.self, loser.pid, NameConflict{Name: winner.name, Winner: winner.pid}.encode())
	}
}

// toldKey is a registration whose loser was told (tellLoser).
type toldKey struct {
	name string
	pid  node.PID
	reg  uint64
}

type toldAt struct {
	key toldKey
	at  time.Time
}
