package membership

import (
	"bytes"
	"errors"
	"maps"
	"net"
	"testing"

	"github.com/hashicorp/serf/serf"
)

func serfMember(name string, st serf.MemberStatus, tags map[string]string) serf.Member {
	return serf.Member{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Status: st, Tags: tags}
}

// testTagKey is a tag key for unit tests.
func testTagKey(t testing.TB, cookie []byte) tagKey {
	t.Helper()
	k, err := deriveTagKey(cookie)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var unitCookie = []byte("membership-unit-test-cookie-0123456789")

func TestMemberFromSerf(t *testing.T) {
	k := testTagKey(t, unitCookie)
	good := k.sign("a@h", "127.0.0.1:7946", buildTags("10.0.0.1:4000", 3, 2, map[string]string{"zone": "a"}))
	m, err := k.memberFromSerf(serfMember("a@h", serf.StatusFailed, good))
	if err != nil {
		t.Fatalf("placer member rejected: %v", err)
	}
	want := Member{
		Name: "a@h", GossipAddr: "127.0.0.1:7946", TransportAddr: "10.0.0.1:4000",
		Weight: 3, ProtocolVersion: 2, Status: StatusFailed, Tags: map[string]string{"zone": "a"},
	}
	if !m.equal(want) {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	if _, err := k.memberFromSerf(serfMember("x@h", serf.StatusAlive, map[string]string{"role": "web"})); !errors.Is(err, errNotPlacer) {
		t.Fatalf("stock serf agent: %v, want errNotPlacer", err)
	}
}

// TestMemberRefused: every way a gossip-key holder could forge, edit or
// replay tags, and every malformed tag, is refused (not as errNotPlacer:
// these are logged).
func TestMemberRefused(t *testing.T) {
	k := testTagKey(t, unitCookie)
	other := testTagKey(t, []byte("another-cookie-entirely-0123456789abcdef"))
	base := buildTags("10.0.0.1:4000", 3, 1, nil)
	signed := func(name string, tags map[string]string) map[string]string {
		return k.sign(name, "127.0.0.1:7946", tags)
	}
	bad := []struct {
		name, member string
		st           serf.MemberStatus
		tags         map[string]string
	}{
		{"unsigned", "x@h", serf.StatusAlive, base},
		{"signed with another cookie", "x@h", serf.StatusAlive, other.sign("x@h", "127.0.0.1:7946", base)},
		{"signature of another name", "x@h", serf.StatusAlive, signed("y@h", base)},
		{"signature of another gossip address", "x@h", serf.StatusAlive, k.sign("x@h", "10.9.9.9:7946", base)},
		{"edited after signing", "x@h", serf.StatusAlive, with(signed("x@h", base), TagWeight, "4096")},
		{"extra tag added after signing", "x@h", serf.StatusAlive, with(signed("x@h", base), "zone", "b")},
		{"garbage signature", "x@h", serf.StatusAlive, with(base, TagSignature, "!!")},
		{"name without @host", "evil", serf.StatusAlive, signed("evil", base)},
		{"name with a space", "ev il@h", serf.StatusAlive, signed("ev il@h", base)},
		{"future schema", "x@h", serf.StatusAlive, signed("x@h", with(base, TagPlacer, "2"))},
		{"weight 0", "x@h", serf.StatusAlive, signed("x@h", with(base, TagWeight, "0"))},
		{"weight over MaxWeight", "x@h", serf.StatusAlive, signed("x@h", with(base, TagWeight, "4097"))},
		{"weight junk", "x@h", serf.StatusAlive, signed("x@h", with(base, TagWeight, "x"))},
		{"bogus address", "x@h", serf.StatusAlive, signed("x@h", with(base, TagTransport, "bogus"))},
		{"address without host", "x@h", serf.StatusAlive, signed("x@h", with(base, TagTransport, ":4000"))},
		{"no proto", "x@h", serf.StatusAlive, signed("x@h", without(base, TagProtocol))},
		{"status none", "x@h", serf.StatusNone, signed("x@h", base)},
	}
	for _, b := range bad {
		_, err := k.memberFromSerf(serfMember(b.member, b.st, b.tags))
		if err == nil || errors.Is(err, errNotPlacer) {
			t.Errorf("%s: %v, want a refusal", b.name, err)
		}
	}
	if _, err := k.memberFromSerf(serfMember("x@h", serf.StatusAlive, signed("x@h", with(base, TagWeight, "4096")))); err != nil {
		t.Errorf("weight 4096 signed: %v", err)
	}
}

// TestTagKeyDistinct: the tag key is neither the gossip key nor the
// cookie, and depends on the cookie.
func TestTagKeyDistinct(t *testing.T) {
	gk, err := DeriveGossipKey(unitCookie)
	if err != nil {
		t.Fatal(err)
	}
	k := testTagKey(t, unitCookie)
	if len(k) != 32 || bytes.Equal(k, gk) || bytes.Contains(unitCookie, k) {
		t.Fatal("the tag key must be 32 bytes distinct from the gossip key and the cookie")
	}
	if bytes.Equal(k, testTagKey(t, append([]byte{1}, unitCookie...))) {
		t.Fatal("another cookie gave the same tag key")
	}
	if _, err := deriveTagKey(unitCookie[:MinCookieLen-1]); !errors.Is(err, ErrInvalidCookie) {
		t.Fatalf("short cookie: %v", err)
	}
}

func with(m map[string]string, k, v string) map[string]string {
	c := maps.Clone(m)
	c[k] = v
	return c
}

func without(m map[string]string, k string) map[string]string {
	c := maps.Clone(m)
	delete(c, k)
	return c
}

func TestStatusAndKindStrings(t *testing.T) {
	for s, want := range map[Status]string{StatusAlive: "alive", StatusLeaving: "leaving", StatusLeft: "left",
		StatusFailed: "failed", 0: "status(0)"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
	for k, want := range map[ChangeKind]string{ChangeJoin: "join", ChangeRejoin: "rejoin", ChangeReap: "reap",
		0: "change(0)", 99: "change(99)"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}

// FuzzMemberFromTags: any tag map parses without panicking, accepted maps
// have sane values, and buildTags output always round-trips.
func FuzzMemberFromTags(f *testing.F) {
	f.Add("1", "3", "1", "127.0.0.1:1", "zone", "a")
	f.Add("1", "-1", "1", "", "placer.x", "b")
	f.Add("2", "1", "99999999999999999999", "x", "", "")
	f.Fuzz(func(t *testing.T, marker, weight, proto, addr, k, v string) {
		tags := map[string]string{TagPlacer: marker, TagWeight: weight, TagProtocol: proto, TagTransport: addr, k: v}
		if m, err := memberFromTags("n@h", tags); err == nil {
			if m.Weight < 1 || m.Weight > MaxWeight || m.ProtocolVersion < 1 || m.TransportAddr != tags[TagTransport] {
				t.Fatalf("accepted bad member %+v from %v", m, tags)
			}
			for key := range m.Tags {
				if reservedTag(key) {
					t.Fatalf("reserved key %q in extra tags", key)
				}
			}
		}
		if reservedTag(k) || k == "" || validTransportAddr(addr) != nil {
			return
		}
		built := buildTags(addr, 2, 3, map[string]string{k: v})
		m, err := memberFromTags("n@h", built)
		if err != nil || m.Weight != 2 || m.ProtocolVersion != 3 || m.TransportAddr != addr || m.Tags[k] != v || len(m.Tags) != 1 {
			t.Fatalf("round trip of %v gave %+v, %v", built, m, err)
		}
	})
}
