package membership

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// MinCookieLen is the shortest cookie accepted, in bytes. DESIGN.md asks for
// at least 32 random bytes; a shorter secret would make the derived gossip
// key guessable no matter how it is stretched.
const MinCookieLen = 32

// GossipKeyLen is the length of the derived gossip key: 32 bytes selects
// AES-256-GCM in memberlist.
const GossipKeyLen = 32

// Fixed HKDF parameters. Changing either changes every derived key, so nodes
// built before and after the change could no longer gossip with each other:
// bump the version suffix only together with a protocol version change.
const (
	gossipKeySalt = "placer/membership/gossip-key/salt/v1"
	gossipKeyInfo = "placer serf+memberlist AES-256-GCM gossip key v1"
)

// DeriveGossipKey derives the Serf/memberlist gossip encryption key from the
// cluster cookie: HKDF-SHA256 (RFC 5869) with the fixed salt
// "placer/membership/gossip-key/salt/v1" and info string
// "placer serf+memberlist AES-256-GCM gossip key v1", 32 bytes of output.
//
// Every placer node derives the same key from the same cookie, so gossip is
// encrypted and authenticated without a second secret to distribute, and the
// cookie itself never leaves the process. A stock `serf agent` can share the
// pool only if it is given this key (base64, its -encrypt flag); it is then
// still never listed as a placer member: members must sign their tags with
// a second key derived from the cookie (see TagSignature), so forged
// placer tags are refused.
//
// The returned key is a secret: never log it.
func DeriveGossipKey(cookie []byte) ([]byte, error) {
	if len(cookie) < MinCookieLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrInvalidCookie, len(cookie), MinCookieLen)
	}
	key, err := hkdf.Key(sha256.New, cookie, []byte(gossipKeySalt), gossipKeyInfo, GossipKeyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: hkdf: %v", ErrInvalidCookie, err)
	}
	return key, nil
}
