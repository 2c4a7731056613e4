package global

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/fuzzseed"
	"github.com/placerhq/placer/node"
)

var (
	pidA = node.PID{Node: "node1@127.0.0.1", ID: 42, Creation: 7}
	pidB = node.PID{Node: "node2@127.0.0.1", ID: 300, Creation: 9}
	live = record{name: "todo_list/bob", state: stateLive, pid: pidA, reg: 1 << 20, version: 1<<20 + 1}
	tomb = record{name: "gone", state: stateTomb, pid: pidB, reg: 5, at: 9, version: 10}
)

func TestSvcMsgRoundTrip(t *testing.T) {
	for _, m := range []svcMsg{
		{op: msgUpdate, hlc: 77, recs: []record{live}},
		{op: msgSync, hlc: 78, recs: []record{live, tomb}},
		{op: msgSync, hlc: 79, recs: []record{}},
		{op: msgDiscover, hlc: 80, recs: []record{}},
		{op: msgDigest, hlc: 81, checksum: 0xfeed, digest: 0xbeef},
	} {
		parts := encodeSvcMsgs(m, 1<<16)
		got, err := decodeSvcMsg(parts[0])
		if len(parts) != 1 || err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %+v: %+v %v (%d parts)", m, got, err, len(parts))
		}
	}
}

// A large sync is split, every part under the limit, nothing lost.
func TestSvcMsgSplit(t *testing.T) {
	var recs []record
	for i := range 500 {
		r := live
		r.name = strings.Repeat("x", 100) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		recs = append(recs, r)
	}
	parts := encodeSvcMsgs(svcMsg{op: msgSync, hlc: 1, recs: recs}, minMessageSize)
	var got []record
	for _, p := range parts {
		if len(p) > minMessageSize {
			t.Fatalf("part of %d bytes", len(p))
		}
		m, err := decodeSvcMsg(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.recs...)
	}
	if len(parts) < 2 || !reflect.DeepEqual(got, recs) {
		t.Fatalf("%d parts, %d records back", len(parts), len(got))
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, q := range sampleRequests() {
		got, err := decodeRequest(q.encode())
		if err != nil || !reflect.DeepEqual(got, q) {
			t.Fatalf("round trip %+v: %+v %v", q, got, err)
		}
	}
	for _, c := range []svcCall{{op: callRecoverName, hlc: 3, id: "n"}, {op: callRecoverLock, hlc: 4, id: "l"}, {op: callAlive, hlc: 5, pid: pidA}} {
		got, err := decodeSvcCall(c.encode())
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip %+v: %+v %v", c, got, err)
		}
	}
}

func sampleRequests() []request {
	return []request{
		{op: opRegister, hlc: 1, pid: pidA},
		{op: opUnregister, hlc: 2},
		{op: opResolve, hlc: 3},
		{op: opClaim, hlc: 4, claimant: "node3@127.0.0.1", rec: tomb},
		{op: opAcquire, hlc: 5, pid: pidA, reqID: 9, wait: 5 * time.Second},
		{op: opAcquire, hlc: 5, pid: pidA, reqID: 10, wait: Forever},
		{op: opRelease, hlc: 6, pid: pidB},
		{op: opCancel, hlc: 7, pid: pidB, reqID: 11},
		{op: opStatus, hlc: 8},
		{op: opLockClaim, hlc: 9, claimant: "node1@127.0.0.1", pid: pidA, token: 1 << 40, count: 2},
		{op: opTick},
	}
}

func TestReplyRoundTrip(t *testing.T) {
	lock := LockInfo{Holder: pidA, Token: 99, Count: 2, LastToken: 99, Waiters: []Waiter{{Requester: pidB, Since: time.Unix(0, 12345)}}}
	for _, c := range []struct {
		p reply
		k replyKind
	}{
		{reply{status: stOK, hlc: 1, rec: live}, replyRecord},
		{reply{status: stTaken, hlc: 2, rec: live}, replyRecord},
		{reply{status: stOK, hlc: 3, lock: LockInfo{Holder: pidA, Token: 5, Count: 1}}, replyGrant},
		{reply{status: stOK, hlc: 4, lock: lock}, replyLockInfo},
		{reply{status: stBusy, hlc: 5}, replyGrant},
		{reply{status: stBad, hlc: 6, text: "bad"}, replyEmpty},
	} {
		got, err := decodeReply(c.p.encode(c.k), c.k)
		if err != nil || !reflect.DeepEqual(got, c.p) {
			t.Fatalf("round trip %+v: %+v %v", c.p, got, err)
		}
	}
	if _, rec, has, err := decodeRecoverName(encodeRecoverName(5, live, true)); err != nil || !has || rec != live {
		t.Fatalf("recover name: %+v %v %v", rec, has, err)
	}
	if _, l, has, err := decodeRecoverLock(encodeRecoverLock(5, LockInfo{Holder: pidA, Token: 3, Count: 1}, true)); err != nil || !has || l.Token != 3 {
		t.Fatalf("recover lock: %+v %v %v", l, has, err)
	}
}

func TestNotices(t *testing.T) {
	nc := NameConflict{Name: "n", Winner: pidA}
	if got, ok := ParseNameConflict(nc.encode()); !ok || got != nc {
		t.Fatalf("name conflict %+v %v", got, ok)
	}
	ll := LockLost{ID: "l", Token: 7, Winner: pidB}
	if got, ok := ParseLockLost(ll.encode()); !ok || got != ll {
		t.Fatalf("lock lost %+v %v", got, ok)
	}
	if _, ok := ParseNameConflict([]byte("hello")); ok {
		t.Fatal("parsed a plain message")
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the testdata/fuzz seed files from the seed lists")

const seedRoot = "../../testdata/fuzz"

// TestFuzzSeedFiles checks that the seed files match the lists (or
// rewrites them with -update-seeds).
func TestFuzzSeedFiles(t *testing.T) {
	fuzzseed.Check(t, seedRoot, map[string][]fuzzseed.Seed{
		"FuzzDecodeGlobalMessage": messageSeeds(), "FuzzDecodeGlobalRequest": requestSeeds(), "FuzzDecodeGlobalReply": replySeeds(),
	}, *updateSeeds, "go test ./placement/global -run TestFuzzSeedFiles -update-seeds")
}

func messageSeeds() []fuzzseed.Seed {
	enc := func(m svcMsg) []byte { return encodeSvcMsgs(m, 1<<16)[0] }
	return []fuzzseed.Seed{
		{Name: "00-update", Comment: "update: one live record (name, state 1, PID, registered, ended 0, version)", Data: enc(svcMsg{op: msgUpdate, hlc: 77, recs: []record{live}})},
		{Name: "01-sync", Comment: "sync: a live record and a tombstone (state 2)", Data: enc(svcMsg{op: msgSync, hlc: 78, recs: []record{live, tomb}})},
		{Name: "02-discover", Comment: "discover: no records", Data: enc(svcMsg{op: msgDiscover, hlc: 79})},
		{Name: "03-digest", Comment: "digest: view checksum and digest instead of records", Data: enc(svcMsg{op: msgDigest, hlc: 80, checksum: 1, digest: 2})},
		{Name: "04-call-recover", Comment: "a service call: recover name n", Data: svcCall{op: callRecoverName, hlc: 3, id: "n"}.encode()},
		{Name: "05-call-alive", Comment: "a service call: is this PID alive", Data: svcCall{op: callAlive, hlc: 3, pid: pidA}.encode()},
		{Name: "06-huge-count", Comment: "an update claiming 2^32-1 records: refused before allocating", Data: []byte{1, msgUpdate, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{Name: "07-bad-state", Comment: "a record of state 9", Data: append(enc(svcMsg{op: msgUpdate, recs: []record{live}})[:12+len(live.name)], 9)},
	}
}

func requestSeeds() []fuzzseed.Seed {
	names := map[uint8]string{opRegister: "register", opUnregister: "unregister", opResolve: "resolve", opClaim: "claim",
		opAcquire: "acquire", opRelease: "release", opCancel: "cancel", opStatus: "status", opLockClaim: "lock-claim", opTick: "tick"}
	var out []fuzzseed.Seed
	for i, q := range sampleRequests() {
		out = append(out, fuzzseed.Seed{Name: fmt.Sprintf("%02d-%s", i, names[q.op]),
			Comment: fmt.Sprintf("a request: version 1, op %d (%s), u64 hlc, then its body", q.op, names[q.op]), Data: q.encode()})
	}
	return append(out,
		fuzzseed.Seed{Name: "20-name-state", Comment: "an exported name authority: flags 3 (a record, a loser), the record, the loser's PID", Data: encodeState(live, pidB, nil)},
		fuzzseed.Seed{Name: "21-short", Comment: "a register cut off inside its PID", Data: request{op: opRegister, pid: pidA}.encode()[:14]},
		fuzzseed.Seed{Name: "22-name-state-graves", Comment: "an exported name authority: flags 5 (a record, graves), the record, 1 grave (PID, registration time)", Data: encodeState(live, node.PID{}, []grave{{pid: pidA, reg: 7}})})
}

func replySeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "00-taken", Comment: "status taken with the holder's record", Data: reply{status: stTaken, hlc: 2, rec: live}.encode(replyRecord)},
		{Name: "01-grant", Comment: "a grant: holder, token, count", Data: reply{status: stOK, hlc: 3, lock: LockInfo{Holder: pidA, Token: 5, Count: 1}}.encode(replyGrant)},
		{Name: "02-status", Comment: "lock status with one waiter", Data: reply{status: stOK, lock: LockInfo{Holder: pidA, Waiters: []Waiter{{Requester: pidB}}}}.encode(replyLockInfo)},
		{Name: "03-conflict", Comment: "a NameConflict notice (magic, name, winner)", Data: NameConflict{Name: "n", Winner: pidA}.encode()},
		{Name: "04-locklost", Comment: "a LockLost notice (magic, id, token, winner)", Data: LockLost{ID: "l", Token: 1, Winner: pidB}.encode()},
		{Name: "05-bad", Comment: "status bad with a text", Data: reply{status: stBad, text: "no"}.encode(replyEmpty)},
	}
}

// FuzzDecodeGlobalMessage: the service message and call decoders never
// panic, and what they accept survives a round trip.
func FuzzDecodeGlobalMessage(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeGlobalMessage")
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeSvcMsg(b); err == nil {
			if back, err := decodeSvcMsg(encodeSvcMsgs(m, 1<<30)[0]); err != nil || !reflect.DeepEqual(back, m) {
				t.Fatalf("re-decoded %+v (%v), want %+v", back, err, m)
			}
		}
		if c, err := decodeSvcCall(b); err == nil {
			if back, err := decodeSvcCall(c.encode()); err != nil || back != c {
				t.Fatalf("re-decoded %+v (%v), want %+v", back, err, c)
			}
		}
	})
}

// FuzzDecodeGlobalRequest: requests and exported states never panic the
// decoders, and accepted requests survive a round trip.
func FuzzDecodeGlobalRequest(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeGlobalRequest")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _, _ = decodeState(b, "n")
		_, _ = decodeLockState(b)
		q, err := decodeRequest(b)
		if err != nil {
			return
		}
		if back, err := decodeRequest(q.encode()); err != nil || !reflect.DeepEqual(back, q) {
			t.Fatalf("re-decoded %+v (%v), want %+v", back, err, q)
		}
	})
}

// FuzzDecodeGlobalReply: reply, recovery and notice decoders never panic.
func FuzzDecodeGlobalReply(f *testing.F) {
	fuzzseed.Add(f, seedRoot, "FuzzDecodeGlobalReply")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range []replyKind{replyRecord, replyGrant, replyLockInfo, replyEmpty} {
			_, _ = decodeReply(b, k)
		}
		_, _, _, _ = decodeRecoverName(b)
		_, _, _, _ = decodeRecoverLock(b)
		_, _ = ParseNameConflict(b)
		_, _ = ParseLockLost(b)
	})
}

// An authority's exported state keeps its record, its last conflict's
// loser and its graves; a grave count beyond maxGraves is refused.
func TestStateRoundTrip(t *testing.T) {
	graves := []grave{{pid: pidA, reg: 7}, {pid: pidB, reg: 9}}
	rec, loser, back, err := decodeState(encodeState(live, pidB, graves), live.name)
	if err != nil || rec != live || loser != pidB || !reflect.DeepEqual(back, graves) {
		t.Fatalf("round trip: %+v %v %+v %v", rec, loser, back, err)
	}
	many := make([]grave, maxGraves+1)
	if _, _, _, err := decodeState(encodeState(live, node.PID{}, many), live.name); err == nil {
		t.Fatal("a state with too many graves was accepted")
	}
}
