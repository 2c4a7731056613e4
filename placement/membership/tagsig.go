package membership

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/hashicorp/serf/serf"
)

// The gossip key alone must not make a ring member: anyone holding it (a
// stock `serf agent -encrypt` in the same pool) can gossip any tags. So every
// placer node signs its tags with a second key derived from the cookie, the
// tag key, and every node verifies the signature before it lists a member.
// The signature covers the member's name, its gossip address and every tag,
// so tags cannot be forged, edited, moved to another name, or replayed from
// another address (docs/membership.md, "Signed tags").

// TagSignature is the tag that carries a member's tag signature: the
// unpadded base64 (RFC 4648 §4) of an HMAC-SHA256 under the tag key.
const TagSignature = "placer.sig"

// sigLen is the length of a TagSignature value: 32 bytes in base64.
const sigLen = 43

// Fixed HKDF parameters of the tag key: distinct from the gossip key's, so
// the gossip key (which a stock Serf agent may hold) reveals nothing about
// it. Changing them splits old and new nodes, like the gossip key's.
const (
	tagKeySalt = "placer/membership/tag-key/salt/v1"
	tagKeyInfo = "placer membership tag signature key v1"
	tagMACDom  = "placer-tags-v1"
)

// errNotPlacer marks a Serf member without the placer marker: a stock Serf
// agent sharing the pool, ignored without a warning.
var errNotPlacer = errors.New("not a placer member")

// tagKey signs and verifies placer tags. It is a secret: never log it.
type tagKey []byte

// deriveTagKey derives the tag key from the cookie: HKDF-SHA256 with the
// fixed salt and info above, 32 bytes.
func deriveTagKey(cookie []byte) (tagKey, error) {
	if len(cookie) < MinCookieLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrInvalidCookie, len(cookie), MinCookieLen)
	}
	k, err := hkdf.Key(sha256.New, cookie, []byte(tagKeySalt), tagKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: hkdf: %v", ErrInvalidCookie, err)
	}
	return k, nil
}

// mac computes the signature of a member's tags (TagSignature excluded):
// HMAC-SHA256(key, lp(domain) ‖ lp(name) ‖ lp(gossipAddr) ‖ lp(k) ‖ lp(v)
// for every tag in key order), lp(x) = u32 length ‖ x.
func (k tagKey) mac(name, gossipAddr string, tags map[string]string) []byte {
	h := hmac.New(sha256.New, k)
	lp := func(s string) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	lp(tagMACDom)
	lp(name)
	lp(gossipAddr)
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		if key != TagSignature {
			lp(key)
			lp(tags[key])
		}
	}
	return h.Sum(nil)
}

// sign returns a copy of tags with TagSignature set for name at gossipAddr.
func (k tagKey) sign(name, gossipAddr string, tags map[string]string) map[string]string {
	out := maps.Clone(tags)
	out[TagSignature] = base64.RawStdEncoding.EncodeToString(k.mac(name, gossipAddr, tags))
	return out
}

// verify checks the signature of tags for name at gossipAddr.
func (k tagKey) verify(name, gossipAddr string, tags map[string]string) error {
	sig, ok := tags[TagSignature]
	if !ok {
		return errors.New("unsigned tags (an older placer, or a gossip-key holder without the cookie)")
	}
	got, err := base64.RawStdEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac(name, gossipAddr, tags)) {
		return errors.New("tag signature does not verify (forged, edited or replayed tags, or another cookie)")
	}
	return nil
}

// memberFromSerf converts a Serf member. The error is errNotPlacer for a
// member without the placer marker, and otherwise says why a member that
// claims to be a placer node is refused: an unknown status, malformed or
// out-of-range tags, or a signature that does not verify.
func (k tagKey) memberFromSerf(sm serf.Member) (Member, error) {
	if _, ok := sm.Tags[TagPlacer]; !ok {
		return Member{}, errNotPlacer
	}
	st, ok := fromSerfStatus(sm.Status)
	if !ok {
		return Member{}, fmt.Errorf("unknown serf status %d", sm.Status)
	}
	gossip := net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port)))
	m, err := memberFromTags(sm.Name, sm.Tags)
	if err != nil {
		return Member{}, err
	}
	if err := k.verify(sm.Name, gossip, sm.Tags); err != nil {
		return Member{}, err
	}
	m.Status, m.GossipAddr = st, gossip
	return m, nil
}
