package membership

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/placerhq/placer/ring"
	"github.com/placerhq/placer/transport"
)

// Tag keys placer gossips for every member. A Serf member without TagPlacer
// (a stock serf agent sharing the pool) is never reported as a member.
const (
	TagPlacer    = "placer"        // marker; its value is the tag schema version, PlacerTagValue
	TagTransport = "placer.addr"   // the placer transport address (host:port)
	TagWeight    = "placer.weight" // decimal weight in 1..MaxWeight
	TagProtocol  = "placer.proto"  // decimal placer protocol version >= 1

	// PlacerTagValue is the value of TagPlacer written by this version.
	PlacerTagValue = "1"

	reservedTagPrefix = "placer."
)

// MaxWeight is the largest ring weight a member may have (the ring's own
// bound): a member gossiping more is refused.
const MaxWeight = ring.MaxWeight

// Status is a member's state as Serf sees it.
type Status uint8

// Member states. Only StatusAlive members are ring candidates.
const (
	StatusAlive   Status = iota + 1 // reachable
	StatusLeaving                   // announced a graceful leave that is still spreading
	StatusLeft                      // left gracefully (kept as a tombstone until Serf reaps it)
	StatusFailed                    // stopped answering probes; Serf keeps trying to reconnect
)

// String returns "alive", "leaving", "left" or "failed".
func (s Status) String() string {
	switch s {
	case StatusAlive:
		return "alive"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	case StatusFailed:
		return "failed"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// departed reports whether s is a graceful departure (leaving or left).
func (s Status) departed() bool { return s == StatusLeaving || s == StatusLeft }

// Member is one placer node of the Serf cluster.
type Member struct {
	Name            string            // node name, "name@host"
	GossipAddr      string            // Serf/memberlist address, host:port
	TransportAddr   string            // placer transport address (TagTransport)
	Weight          int               // ring weight (TagWeight)
	ProtocolVersion int               // placer protocol version (TagProtocol)
	Status          Status            // alive, leaving, left or failed
	Tags            map[string]string // the extra tags (Config.Tags); never nil
}

// equal reports whether a and b describe the same member state.
func (m Member) equal(o Member) bool {
	return m.Name == o.Name && m.GossipAddr == o.GossipAddr &&
		m.TransportAddr == o.TransportAddr && m.Weight == o.Weight &&
		m.ProtocolVersion == o.ProtocolVersion && m.Status == o.Status &&
		maps.Equal(m.Tags, o.Tags)
}

// sameTags reports whether a and b differ in anything but status.
func (m Member) sameTags(o Member) bool {
	o.Status = m.Status
	return m.equal(o)
}

func fromSerfStatus(s serf.MemberStatus) (Status, bool) {
	switch s {
	case serf.StatusAlive:
		return StatusAlive, true
	case serf.StatusLeaving:
		return StatusLeaving, true
	case serf.StatusLeft:
		return StatusLeft, true
	case serf.StatusFailed:
		return StatusFailed, true
	}
	return 0, false
}

// memberFromTags parses and validates placer's tags (not the signature,
// which tagKey.memberFromSerf checks); the error says what is wrong.
func memberFromTags(name string, tags map[string]string) (Member, error) {
	if v := tags[TagPlacer]; v != PlacerTagValue {
		return Member{}, fmt.Errorf("tag schema %q, this node reads %q", v, PlacerTagValue)
	}
	if err := validMemberName(name); err != nil {
		return Member{}, err
	}
	addr := tags[TagTransport]
	if err := validTransportAddr(addr); err != nil {
		return Member{}, err
	}
	w, err1 := strconv.Atoi(tags[TagWeight])
	pv, err2 := strconv.Atoi(tags[TagProtocol])
	if err1 != nil || w < 1 || w > MaxWeight {
		return Member{}, fmt.Errorf("weight %q not in 1..%d", tags[TagWeight], MaxWeight)
	}
	if err2 != nil || pv < 1 {
		return Member{}, fmt.Errorf("protocol version %q not a positive number", tags[TagProtocol])
	}
	m := Member{Name: name, TransportAddr: addr, Weight: w, ProtocolVersion: pv, Tags: make(map[string]string)}
	for k, v := range tags {
		if !reservedTag(k) {
			m.Tags[k] = v
		}
	}
	return m, nil
}

// validMemberName checks a member's name as the transport will use it:
// "name@host" (transport.ValidateName) within Serf's limits.
func validMemberName(name string) error {
	if err := transport.ValidateName(name); err != nil {
		return err
	}
	if len(name) > maxNodeNameLen || strings.ContainsAny(name, "/ \t\r\n") {
		return fmt.Errorf("node name %q: longer than %d bytes, or '/' or whitespace in it", name, maxNodeNameLen)
	}
	return nil
}

// validTransportAddr checks a transport address tag: empty (a node that
// serves nothing) or host:port with both parts, printable, at most 255
// bytes.
func validTransportAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" || len(addr) > 255 {
		return fmt.Errorf("transport address %q is not host:port", addr)
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("transport address %q has a space or control character", addr)
		}
	}
	return nil
}

func reservedTag(k string) bool {
	return k == TagPlacer || strings.HasPrefix(k, reservedTagPrefix)
}

// buildTags returns the full tag map gossiped for a node.
func buildTags(transport string, weight, proto int, extra map[string]string) map[string]string {
	t := make(map[string]string, len(extra)+4)
	maps.Copy(t, extra)
	t[TagPlacer] = PlacerTagValue
	t[TagTransport] = transport
	t[TagWeight] = strconv.Itoa(weight)
	t[TagProtocol] = strconv.Itoa(proto)
	return t
}

func checkExtraTags(extra map[string]string) error {
	for k := range extra {
		if reservedTag(k) {
			return fmt.Errorf("tag key %q is reserved for placer", k)
		}
		if k == "" {
			return fmt.Errorf("empty tag key")
		}
	}
	return nil
}

// encodedTagLen is the size of tags as Serf puts them in memberlist's node
// metadata: a magic byte and the msgpack-encoded map (serf.go encodeTags).
func encodedTagLen(tags map[string]string) int {
	var buf bytes.Buffer
	buf.WriteByte(255)
	if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(tags); err != nil {
		return memberlist.MetaMaxSize + 1 // a map[string]string always encodes; treat failure as too big
	}
	return buf.Len()
}

// checkTagSize returns an error (wrapping no sentinel: callers add theirs)
// if tags do not fit memberlist's metadata limit.
func checkTagSize(tags map[string]string) error {
	if n := encodedTagLen(tags); n > memberlist.MetaMaxSize {
		return fmt.Errorf("tags encode to %d bytes, limit %d", n, memberlist.MetaMaxSize)
	}
	return nil
}

// sortMembers orders members by name (the order every list here uses).
func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
}

// aliveOnly returns the alive members of ms, keeping the order.
func aliveOnly(ms []Member) []Member {
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		if m.Status == StatusAlive {
			out = append(out, m)
		}
	}
	return out
}

// cloneMember deep-copies m (its Tags map).
func cloneMember(m Member) Member {
	m.Tags = maps.Clone(m.Tags)
	if m.Tags == nil {
		m.Tags = map[string]string{}
	}
	return m
}
