package membership

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"
)

// naiveHKDF is RFC 5869 written out with HMAC, the model DeriveGossipKey
// (crypto/hkdf) is checked against.
func naiveHKDF(secret, salt, info []byte, n int) []byte {
	ext := hmac.New(sha256.New, salt)
	ext.Write(secret)
	prk := ext.Sum(nil)
	var out, prev []byte
	for i := byte(1); len(out) < n; i++ {
		h := hmac.New(sha256.New, prk)
		h.Write(prev)
		h.Write(info)
		h.Write([]byte{i})
		prev = h.Sum(nil)
		out = append(out, prev...)
	}
	return out[:n]
}

func TestDeriveGossipKeyMatchesRFC5869(t *testing.T) {
	for range 20 {
		cookie := newCookie(t)
		got, err := DeriveGossipKey(cookie)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveHKDF(cookie, []byte(gossipKeySalt), []byte(gossipKeyInfo), GossipKeyLen)
		if !bytes.Equal(got, want) || len(got) != 32 {
			t.Fatalf("key %x, want %x", got, want)
		}
		again, _ := DeriveGossipKey(cookie)
		if !bytes.Equal(got, again) {
			t.Fatal("derivation is not deterministic")
		}
		if bytes.Contains(cookie, got[:8]) {
			t.Fatal("key leaks cookie bytes")
		}
	}
}

func TestDeriveGossipKeyDiffersPerCookie(t *testing.T) {
	a, _ := DeriveGossipKey(bytes.Repeat([]byte{1}, MinCookieLen))
	b, _ := DeriveGossipKey(append(bytes.Repeat([]byte{1}, MinCookieLen-1), 2))
	if bytes.Equal(a, b) {
		t.Fatal("cookies differing in one byte gave the same key")
	}
}

func TestDeriveGossipKeyRejectsShortCookie(t *testing.T) {
	for _, n := range []int{0, 1, MinCookieLen - 1} {
		if _, err := DeriveGossipKey(make([]byte, n)); !errors.Is(err, ErrInvalidCookie) {
			t.Fatalf("%d-byte cookie: %v, want ErrInvalidCookie", n, err)
		}
	}
}
