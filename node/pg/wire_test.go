package pg

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/placerhq/placer/internal/fuzzseed"
	"github.com/placerhq/placer/node"
)

var sender = node.PID{Node: "n1@h", ID: 7, Creation: 3}

// pids returns PIDs of the sender's node with the given ids.
func pids(ids ...uint64) []node.PID {
	out := make([]node.PID, len(ids))
	for i, id := range ids {
		out[i] = node.PID{Node: sender.Node, ID: id, Creation: sender.Creation}
	}
	return out
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range []message{
		{op: opDiscover},
		{op: opGoodbye},
		{op: opSync, entries: []entry{}},
		{op: opSync, entries: []entry{{"a", pids(1, 1, 300)}, {"b", pids(1 << 60)}}},
		{op: opJoin, entries: []entry{{"workers", pids(9)}}},
		{op: opLeave, entries: []entry{{"workers", pids(9, 10)}, {"x", pids(9)}}},
	} {
		got, err := decodeMessage(m.encode(nil), sender)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip %+v, want %+v", got, m)
		}
	}
}

// The byte layout of docs/groups.md, spelled out.
func TestMessageLayout(t *testing.T) {
	t.Parallel()
	got := message{op: opJoin, entries: []entry{{"ab", pids(1, 300)}}}.encode(nil)
	want := []byte{1, 3, 1, 2, 'a', 'b', 2, 1, 0xac, 0x02}
	if !bytes.Equal(got, want) {
		t.Fatalf("join encodes as % x, want % x", got, want)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("g", MaxNameLen+1)
	for name, b := range map[string][]byte{
		"empty":           {},
		"version":         {2, opDiscover},
		"op 0":            {1, 0},
		"unknown op":      {1, opMax + 1},
		"discover body":   {1, opDiscover, 0},
		"join no entries": {1, opJoin, 0},
		"empty group":     {1, opJoin, 1, 0, 1, 1},
		"long group":      append(append([]byte{1, opJoin, 1, 0x80, 0x02}, long...), 1, 1),
		"no members":      {1, opJoin, 1, 1, 'g', 0},
		"huge count":      {1, opSync, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"short id":        {1, opJoin, 1, 1, 'g', 1, 0x80},
		"trailing":        {1, opJoin, 1, 1, 'g', 1, 1, 0},
		"short name":      {1, opJoin, 1, 5, 'g'},
	} {
		if _, err := decodeMessage(b, sender); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: decoded without ErrBadMessage (%v)", name, err)
		}
	}
}

// Chunks stay under the limit, and replaying them (a sync, then joins)
// gives back the whole message.
func TestEncodeChunks(t *testing.T) {
	t.Parallel()
	var entries []entry
	for g := range 5 {
		var ids []uint64
		for i := range 40 * (g + 1) {
			ids = append(ids, uint64(i*i*1000+1))
		}
		entries = append(entries, entry{strings.Repeat(string(rune('a'+g)), 30+g), pids(ids...)})
	}
	for _, limit := range []int{64, 100, 1024, 1 << 20} {
		chunks := encodeChunks(message{op: opSync, entries: entries}, limit)
		got := map[string][]node.PID{}
		for i, b := range chunks {
			if len(b) > limit {
				t.Fatalf("limit %d: chunk %d has %d bytes", limit, i, len(b))
			}
			m, err := decodeMessage(b, sender)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]uint8{true: opSync, false: opJoin}[i == 0]; m.op != want {
				t.Fatalf("limit %d: chunk %d has op %d, want %d", limit, i, m.op, want)
			}
			for _, e := range m.entries {
				got[e.group] = append(got[e.group], e.pids...)
			}
		}
		for _, e := range entries {
			if !reflect.DeepEqual(got[e.group], e.pids) {
				t.Fatalf("limit %d: group %s came back as %d members, want %d", limit, e.group, len(got[e.group]), len(e.pids))
			}
		}
		if limit == 1<<20 && len(chunks) != 1 {
			t.Fatalf("a small sync split in %d", len(chunks))
		}
	}
	if c := encodeChunks(message{op: opSync}, 64); len(c) != 1 {
		t.Fatalf("an empty sync is %d messages", len(c))
	}
}

// messageSeeds are the fuzz seeds, kept as commented files in
// testdata/fuzz/FuzzDecodeGroupMessage (go test ./node/pg -run
// TestFuzzSeedFiles -update-seeds rewrites them from this list).
func messageSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-discover", Comment: "discover: send me your members (no body)",
			Data: message{op: opDiscover}.encode(nil)},
		{Name: "01-sync-empty", Comment: "a sync of a node without members: zero entries",
			Data: message{op: opSync}.encode(nil)},
		{Name: "02-sync", Comment: "a sync of two groups; one process joined group a twice; ids of one and two varint bytes",
			Data: message{op: opSync, entries: []entry{{"a", pids(1, 1, 300)}, {"b", pids(5)}}}.encode(nil)},
		{Name: "03-join", Comment: "one process joined group workers",
			Data: message{op: opJoin, entries: []entry{{"workers", pids(42)}}}.encode(nil)},
		{Name: "04-leave-exit", Comment: "a process that exited leaves the two groups it was in",
			Data: message{op: opLeave, entries: []entry{{"a", pids(42)}, {"workers", pids(42)}}}.encode(nil)},
		{Name: "05-goodbye", Comment: "goodbye: the sender's scope is closing",
			Data: message{op: opGoodbye}.encode(nil)},
		{Name: "06-truncated", Comment: "a join cut off inside its member id",
			Data: []byte{1, opJoin, 1, 1, 'g', 1, 0x80}},
		{Name: "07-huge-count", Comment: "a sync claiming 2^32-1 entries in five bytes: refused before allocating",
			Data: []byte{1, opSync, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{Name: "08-unknown-op", Comment: "an op beyond the known ones",
			Data: []byte{1, opMax + 1}},
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the testdata/fuzz seed files from the seed lists")

const seedRoot = "../../testdata/fuzz"

// TestFuzzSeedFiles checks that the seed files match the list (or rewrites
// them with -update-seeds).
func TestFuzzSeedFiles(t *testing.T) {
	fuzzseed.Check(t, seedRoot, map[string][]fuzzseed.Seed{"FuzzDecodeGroupMessage": messageSeeds(), "FuzzDecodeGroupCall": callSeeds()},
		*updateSeeds, "go test ./node/pg -run TestFuzzSeedFiles -update-seeds")
}

// FuzzDecodeGroupMessage: the decoder never panics, every member it
// returns is a process of the sender's node, and what it accepts survives
// an encode/decode round trip. Seeds: testdata/fuzz/FuzzDecodeGroupMessage.
func FuzzDecodeGroupMessage(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeGroupMessage")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b, sender)
		if err != nil {
			return
		}
		for _, e := range m.entries {
			if checkGroup(e.group) != nil || len(e.pids) == 0 {
				t.Fatalf("accepted entry %+v", e)
			}
			for _, p := range e.pids {
				if p.Node != sender.Node || p.Creation != sender.Creation {
					t.Fatalf("member %v is not the sender's", p)
				}
			}
		}
		back, err := decodeMessage(m.encode(nil), sender)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("re-decoded %+v (%v), want %+v", back, err, m)
		}
	})
}

func TestCallRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range []callReq{
		{op: callGroups},
		{op: callMembers, group: "g"},
		{op: callJoin, group: "g", pids: []node.PID{sender, {Node: "x@y", ID: 1, Creation: 2}}},
		{op: callLeave, group: "g", pids: []node.PID{}},
	} {
		got, err := decodeCallReq(r.encode())
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip %+v (%v), want %+v", got, err, r)
		}
	}
	gs := []GroupInfo{{Name: "a", Members: 3, Local: 1}, {Name: "b", Members: 1 << 20}}
	if got, err := decodeGroups(encodeGroups(gs)); err != nil || !reflect.DeepEqual(got, gs) {
		t.Fatalf("groups %+v %v", got, err)
	}
	if got, err := decodeMembers(appendPIDs(nil, []node.PID{sender})); err != nil || !reflect.DeepEqual(got, []node.PID{sender}) {
		t.Fatalf("members %+v %v", got, err)
	}
}

// callSeeds are the seeds of FuzzDecodeGroupCall (regenerated like
// messageSeeds).
func callSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-groups", Comment: "Remote.Groups: no body",
			Data: callReq{op: callGroups}.encode()},
		{Name: "01-members", Comment: "Remote.Members of group workers",
			Data: callReq{op: callMembers, group: "workers"}.encode()},
		{Name: "02-join", Comment: "Remote.Join of one PID (u16 node length, name, u64 id, u32 creation), twice",
			Data: callReq{op: callJoin, group: "g", pids: []node.PID{sender, sender}}.encode()},
		{Name: "03-groups-reply", Comment: "the reply to Groups: two groups with member and local counts",
			Data: encodeGroups([]GroupInfo{{Name: "a", Members: 3, Local: 1}, {Name: "b", Members: 1}})},
		{Name: "04-short-pid", Comment: "a join whose PID is cut off after the node name",
			Data: []byte{1, callJoin, 1, 'g', 1, 0, 3, 'n', '@', 'h'}},
	}
}

// FuzzDecodeGroupCall: the decoders of Remote's calls and replies never
// panic, and what the request decoder accepts survives a round trip.
// Seeds: testdata/fuzz/FuzzDecodeGroupCall.
func FuzzDecodeGroupCall(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeGroupCall")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeGroups(b)
		_, _ = decodeMembers(b)
		r, err := decodeCallReq(b)
		if err != nil {
			return
		}
		back, err := decodeCallReq(r.encode())
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("re-decoded %+v (%v), want %+v", back, err, r)
		}
	})
}
