package membership

import (
	"maps"
	"net"
	"testing"

	"github.com/hashicorp/serf/serf"
)

func serfMember(name string, st serf.MemberStatus, tags map[string]string) serf.Member {
	return serf.Member{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Status: st, Tags: tags}
}

func TestMemberFromSerf(t *testing.T) {
	good := buildTags("10.0.0.1:4000", 3, 2, map[string]string{"zone": "a"})
	m, ok := memberFromSerf(serfMember("a@h", serf.StatusFailed, good))
	if !ok {
		t.Fatal("placer member rejected")
	}
	want := Member{
		Name: "a@h", GossipAddr: "127.0.0.1:7946", TransportAddr: "10.0.0.1:4000",
		Weight: 3, ProtocolVersion: 2, Status: StatusFailed, Tags: map[string]string{"zone": "a"},
	}
	if !m.equal(want) {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	bad := []struct {
		name string
		st   serf.MemberStatus
		tags map[string]string
	}{
		{"stock serf agent", serf.StatusAlive, map[string]string{"role": "web"}},
		{"future schema", serf.StatusAlive, with(good, TagPlacer, "2")},
		{"weight 0", serf.StatusAlive, with(good, TagWeight, "0")},
		{"weight junk", serf.StatusAlive, with(good, TagWeight, "x")},
		{"no proto", serf.StatusAlive, without(good, TagProtocol)},
		{"status none", serf.StatusNone, good},
	}
	for _, b := range bad {
		if _, ok := memberFromSerf(serfMember("x@h", b.st, b.tags)); ok {
			t.Errorf("%s: accepted as a placer member", b.name)
		}
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
		if m, ok := memberFromTags("n@h", tags); ok {
			if m.Weight < 1 || m.ProtocolVersion < 1 || m.TransportAddr != tags[TagTransport] {
				t.Fatalf("accepted bad member %+v from %v", m, tags)
			}
			for key := range m.Tags {
				if reservedTag(key) {
					t.Fatalf("reserved key %q in extra tags", key)
				}
			}
		}
		if reservedTag(k) || k == "" {
			return
		}
		built := buildTags(addr, 2, 3, map[string]string{k: v})
		m, ok := memberFromTags("n@h", built)
		if !ok || m.Weight != 2 || m.ProtocolVersion != 3 || m.TransportAddr != addr || m.Tags[k] != v || len(m.Tags) != 1 {
			t.Fatalf("round trip of %v gave %+v ok=%v", built, m, ok)
		}
	})
}
