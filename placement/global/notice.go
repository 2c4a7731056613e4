package global

import (
	"bytes"
	"encoding/binary"

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
