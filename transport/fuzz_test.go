package transport

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The seed corpora live in the repository's top-level testdata/fuzz/<Fuzz
// target>/, one commented file per seed (format below), and are added with
// f.Add. `go test ./transport/ -run TestFuzzSeeds -update-seeds` rewrites
// them from the seed lists in this file; without the flag TestFuzzSeeds
// checks that every seed still produces the outcome its file records.
//
// Seed file format: lines starting with '#' are comments; "key: value"
// lines give split (the fuzzer's split point), role (handshake seeds:
// dialer or acceptor), expect (the outcome) and hex (the input bytes).

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz seed files")

const seedRoot = "../testdata/fuzz"

// twoReads returns its data in two reads split at a chosen point, so that
// decoders see a frame arrive in pieces.
type twoReads struct{ parts [2][]byte }

func newTwoReads(data []byte, split int) *twoReads {
	split = min(split, len(data))
	return &twoReads{parts: [2][]byte{data[:split], data[split:]}}
}

func (r *twoReads) Read(p []byte) (int, error) {
	for i := range r.parts {
		if len(r.parts[i]) > 0 {
			n := copy(p, r.parts[i])
			r.parts[i] = r.parts[i][n:]
			return n, nil
		}
	}
	return 0, io.EOF
}

// decodeOutcome runs the frame decoder over data split in two reads and
// checks that every decoded message survives a second encode/decode. It
// returns "<n> messages, <end>" where end is eof, truncated or protocol.
func decodeOutcome(t fataler, data []byte, split uint16) string {
	size := 16 << (split % 4) // small buffers exercise the allocate-and-read path too
	fr := frameReader{
		r: bufio.NewReaderSize(newTwoReads(data, int(split)), size), cd: decB(), maxBody: 1 << 16,
		ackEvery: 1000, ack: func(int) {}, credit: func(int) error { return nil },
	}
	for n := 0; ; n++ {
		m, err := fr.next()
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Sprintf("%d messages, eof", n)
		case errors.Is(err, errTruncated):
			return fmt.Sprintf("%d messages, truncated", n)
		case errors.Is(err, ErrProtocol):
			return fmt.Sprintf("%d messages, protocol", n)
		case err != nil:
			t.Fatalf("unclassified decoder error: %v", err)
		}
		if !isDataType(m.Type) {
			t.Fatalf("decoder returned a %v", m.Type)
		}
		again, err := readAll(encodeFrame(t, &encA, m), 1<<16)
		if !errors.Is(err, io.EOF) || len(again) != 1 || !reflect.DeepEqual(again[0], m) {
			t.Fatalf("message %+v does not survive re-encoding: %+v, %v", m, again, err)
		}
	}
}

func FuzzFrameDecoder(f *testing.F) {
	for _, s := range loadSeeds(f, "FuzzFrameDecoder") {
		f.Add(s.data, s.split)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		decodeOutcome(t, data, split)
	})
}

// fixedRand yields one byte forever: deterministic nonces for fuzzing.
type fixedRand byte

func (b fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// fuzzHS is the handshake configuration of each fuzzed role: the dialer
// d@h (nonce 0x11...) talks to the acceptor a@h (nonce 0x22...).
func fuzzHS(dialer bool) hsConfig {
	if dialer {
		c := hsCfg("d@h", "fuzz-cookie")
		c.rand = fixedRand(0x11)
		return c
	}
	c := hsCfg("a@h", "fuzz-cookie")
	c.rand = fixedRand(0x22)
	return c
}

// handshakeOutcome runs one role against data (the other side's bytes)
// and classifies the result.
func handshakeOutcome(t fataler, data []byte, split uint16, dialer bool) string {
	cfg := fuzzHS(dialer)
	r := bufio.NewReaderSize(newTwoReads(data, int(split)), 16<<(split%4))
	status := []uint8{statusOK, statusNOK, statusAlive}[split%3]
	var p hsPeer
	var err error
	if dialer {
		p, err = dialHandshake(r, io.Discard, &cfg, "a@h", dialDecisions{
			commit: func(hsPeer) error { return nil },
			alive:  func(hsPeer) (bool, error) { return split&4 != 0, nil },
		})
	} else {
		p, err = acceptHandshake(r, io.Discard, &cfg, acceptDecisions{
			decide:  func(hsPeer) (uint8, error) { return status, nil },
			replace: func(hsPeer) error { return nil },
		})
	}
	switch {
	case err == nil:
		if ValidateName(p.name) != nil || p.version < MinVersion || p.version > MaxVersion {
			t.Fatalf("handshake succeeded with peer %+v", p)
		}
		return "ok"
	case errors.Is(err, errLostRace):
		return "lost-race"
	case errors.Is(err, errAborted):
		return "aborted"
	case errors.Is(err, ErrVersion):
		return "version"
	case errors.Is(err, ErrAuth):
		return "auth"
	case errors.Is(err, ErrProtocol):
		return "protocol"
	case errors.Is(err, ErrConnClosed):
		return "closed"
	}
	t.Fatalf("unclassified handshake error: %v", err)
	return ""
}

func FuzzHandshake(f *testing.F) {
	for _, s := range loadSeeds(f, "FuzzHandshake") {
		f.Add(s.data, s.split, s.role == "dialer")
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, dialer bool) {
		handshakeOutcome(t, data, split, dialer)
	})
}

// seed is one corpus entry.
type seed struct {
	name    string
	comment string
	role    string // handshake seeds only
	split   uint16
	expect  string
	data    []byte
}

func loadSeeds(tb testing.TB, target string) []seed {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(seedRoot, target, "*.seed"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no seeds in %s/%s (run go test -run TestFuzzSeeds -update-seeds): %v", seedRoot, target, err)
	}
	sort.Strings(files)
	var out []seed
	for _, f := range files {
		s, err := parseSeed(f)
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		out = append(out, s)
	}
	return out
}

func parseSeed(file string) (seed, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return seed{}, err
	}
	s := seed{name: strings.TrimSuffix(filepath.Base(file), ".seed")}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		switch {
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		case !ok:
			return s, fmt.Errorf("bad line %q", line)
		case k == "split":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return s, err
			}
			s.split = uint16(n)
		case k == "role":
			s.role = v
		case k == "expect":
			s.expect = v
		case k == "hex":
			if s.data, err = hex.DecodeString(strings.ReplaceAll(v, " ", "")); err != nil {
				return s, err
			}
		default:
			return s, fmt.Errorf("unknown key %q", k)
		}
	}
	return s, nil
}

func (s seed) format() string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s.comment), "\n") {
		fmt.Fprintf(&b, "# %s\n", l)
	}
	fmt.Fprintln(&b, "# Regenerate with: go test ./transport/ -run TestFuzzSeeds -update-seeds")
	if s.role != "" {
		fmt.Fprintf(&b, "role: %s\n", s.role)
	}
	fmt.Fprintf(&b, "split: %d\nexpect: %s\nhex: %x\n", s.split, s.expect, s.data)
	return b.String()
}

// TestFuzzSeeds checks (or, with -update-seeds, writes) the seed corpora.
func TestFuzzSeeds(t *testing.T) {
	corpora := map[string][]seed{"FuzzFrameDecoder": frameSeeds(t), "FuzzHandshake": handshakeSeeds(t)}
	for target, seeds := range corpora {
		dir := filepath.Join(seedRoot, target)
		if *updateSeeds {
			writeSeeds(t, dir, seeds)
		}
		for _, s := range loadSeeds(t, target) {
			var got string
			if target == "FuzzFrameDecoder" {
				got = decodeOutcome(t, s.data, s.split)
			} else {
				got = handshakeOutcome(t, s.data, s.split, s.role == "dialer")
			}
			if got != s.expect {
				t.Errorf("%s/%s: outcome %q, the seed file expects %q", target, s.name, got, s.expect)
			}
		}
	}
}

func writeSeeds(t *testing.T, dir string, seeds []seed) {
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		name := filepath.Join(dir, fmt.Sprintf("%02d-%s.seed", i, s.name))
		if err := os.WriteFile(name, []byte(s.format()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// frameSeeds builds the decoder corpus; expect is computed by the decoder
// at generation time and then guarded by TestFuzzSeeds.
func frameSeeds(t *testing.T) []seed {
	send := encodeFrame(t, &encA, &Message{Type: FrameSend, From: PID{Node: "a@h", ID: 1}, To: PID{Node: "b@h", ID: 2}, Payload: []byte("hello")})
	call := encodeFrame(t, &encA, fullMessage(FrameCall))
	third := encodeFrame(t, &encA, &Message{Type: FrameDown, From: PID{Node: "c@far", ID: 3, Creation: 9}, To: PID{Node: "b@h", ID: 1}, Status: 2, Reason: "noconnection"})
	big := encodeFrame(t, &encA, &Message{Type: FrameSend, Payload: bytes.Repeat([]byte{7}, 300)})
	frags := fragmentModel(big, 100)
	list := []seed{
		{name: "send", comment: "One Send from a@h's process 1 to b@h's process 2 (PID forms 1 and 2), payload \"hello\".", split: 3, data: send},
		{name: "call-all-fields", comment: "A Call with every field present: From, To, ToName, Ref, TTL, Status, Reason, Payload.", split: 17, data: call},
		{name: "explicit-node", comment: "A Down whose From PID names a third node explicitly (form 3), with Status and Reason.", split: 9, data: third},
		{name: "every-type", comment: "One frame of each data type, 2 (Send) to 13 (SpawnReply), each with all fields.", split: 200, data: everyType(t)},
		{name: "heartbeat-bulkack", comment: "A heartbeat, a BulkAck granting 4096 bytes, then a Send.", split: 5, data: body(frame(FrameHeartbeat, nil), frame(FrameBulkAck, u32(4096)), send)},
		{name: "fragments", comment: "A 300-byte Send cut into 100-byte fragments (FIRST, middle, ..., LAST) with a small Send in between.", split: 111, data: body(frags[:110], send, frags[110:])},
		{name: "truncated", comment: "A Call cut off in its body: the stream ends mid-frame.", split: 4, data: call[:len(call)-3]},
		{name: "unknown-type", comment: "Frame type 200, which no version defines.", split: 1, data: frame(FrameType(200), nil)},
		{name: "oversize", comment: "A Send header announcing a body larger than the 64 KiB limit the fuzz decoder uses.", split: 2, data: append([]byte{byte(FrameSend)}, u32(1<<16+1)...)},
		{name: "bad-pid-form", comment: "A Send whose To PID has node form 9.", split: 6, data: frame(FrameSend, body([]byte{fieldTo, 9}, make([]byte, 12)))},
		{name: "fragment-orphan", comment: "A continuation fragment with no FIRST before it.", split: 3, data: frame(FrameFragment, []byte{fragLast, 1, 2})},
		{name: "fragment-overflow", comment: "A FIRST fragment announcing 10 bytes but carrying 20.", split: 8, data: frame(FrameFragment, body([]byte{fragFirst}, u32(10), make([]byte, 20)))},
	}
	for i := range list {
		list[i].expect = decodeOutcome(t, list[i].data, list[i].split)
	}
	return list
}

func everyType(t *testing.T) []byte {
	var out []byte
	for ft := FrameSend; ft <= FrameSpawnReply; ft++ {
		out = append(out, encodeFrame(t, &encA, fullMessage(ft))...)
	}
	return out
}

// transcript runs a real handshake between the two fuzz roles and returns
// what each side wrote. The acceptor answers with status; the dialer
// answers ALIVE with replace.
func transcript(t *testing.T, d, a hsConfig, status uint8, replace bool) (dialerBytes, acceptorBytes []byte) {
	dc, ac := tcpPair(t)
	dr, ar := &recordingConn{Conn: dc}, &recordingConn{Conn: ac}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = acceptHandshake(bufio.NewReader(ac), ar, &a, okAccept(status))
		_ = ac.Close()
	}()
	dd := okDial()
	dd.alive = func(hsPeer) (bool, error) { return replace, nil }
	_, _ = dialHandshake(bufio.NewReader(dc), dr, &d, a.name, dd)
	_ = dc.Close()
	<-done
	return dr.w.Bytes(), ar.w.Bytes()
}

// handshakeSeeds builds the handshake corpus from real exchanges between
// the fixed-nonce fuzz roles, so the fuzzer starts from transcripts that
// authenticate.
func handshakeSeeds(t *testing.T) []seed {
	d, a := fuzzHS(true), fuzzHS(false)
	okD, okA := transcript(t, d, a, statusOK, true)
	nokD, nokA := transcript(t, d, a, statusNOK, true)
	aliveD, aliveA := transcript(t, d, a, statusAlive, true)
	wrong := fuzzHS(true)
	wrong.cookieFor = func(string) []byte { return []byte("another cookie") }
	badD, _ := transcript(t, wrong, a, statusOK, true)
	v2 := fuzzHS(true)
	v2.vmin, v2.vmax = 2, 3
	v2D, v2A := transcript(t, v2, a, statusOK, true)
	other := hsCfg("x@h", "fuzz-cookie")
	other.rand = fixedRand(0x22)
	_, otherA := transcript(t, d, other, statusOK, true)
	list := []seed{
		{name: "acceptor-ok", role: "acceptor", split: 30, comment: "The dialer d@h's Hello and Auth from a real handshake with the fixed nonces: authenticates (status OK).", data: okD},
		{name: "dialer-ok", role: "dialer", split: 60, comment: "The acceptor a@h's Challenge and AuthAck(OK) from a real handshake: authenticates.", data: okA},
		{name: "acceptor-nok", role: "acceptor", split: 31, comment: "As acceptor-ok; split%3 == 1 makes the fuzzed acceptor answer NOK (simultaneous connect lost).", data: nokD},
		{name: "dialer-nok", role: "dialer", split: 50, comment: "Challenge and AuthAck(NOK): the dialer learns the acceptor's own connection wins.", data: nokA},
		{name: "acceptor-alive-replace", role: "acceptor", split: 32, comment: "Hello, Auth and Confirm(replace); split%3 == 2 makes the fuzzed acceptor answer ALIVE.", data: aliveD},
		{name: "dialer-alive-replace", role: "dialer", split: 44, comment: "Challenge and AuthAck(ALIVE); split&4 != 0 makes the fuzzed dialer answer replace.", data: aliveA},
		{name: "dialer-alive-abort", role: "dialer", split: 51, comment: "Challenge and AuthAck(ALIVE); split&4 == 0 makes the fuzzed dialer keep its connection (abort).", data: aliveA},
		{name: "acceptor-wrong-cookie", role: "acceptor", split: 12, comment: "A dialer that holds another cookie: its Auth proof fails, the acceptor rejects it.", data: badD},
		{name: "dialer-reject-auth", role: "dialer", split: 9, comment: "A Reject with code 2 (authentication failed) as the acceptor's first answer.", data: frame(hsReject, append([]byte{rejectAuth, 4}, "nope"...))},
		{name: "acceptor-version", role: "acceptor", split: 20, comment: "A dialer offering only versions 2..3: no common version.", data: v2D},
		{name: "dialer-reject-version", role: "dialer", split: 3, comment: "The acceptor's Reject for the version mismatch above, as a v1 dialer sees it.", data: v2A},
		{name: "dialer-wrong-name", role: "dialer", split: 40, comment: "An acceptor that answers as x@h while the dialer dialled a@h.", data: otherA},
		{name: "acceptor-oversize", role: "acceptor", split: 2, comment: "A Hello header announcing 4097 bytes: over the 4 KiB pre-authentication limit.", data: append([]byte{byte(hsHello)}, u32(preAuthMaxBody+1)...)},
		{name: "acceptor-data-first", role: "acceptor", split: 1, comment: "A Send frame before any handshake: refused.", data: frame(FrameSend, []byte{0})},
		{name: "acceptor-truncated", role: "acceptor", split: 10, comment: "The valid Hello cut short: the connection ends mid-handshake.", data: okD[:40]},
	}
	for i := range list {
		list[i].expect = handshakeOutcome(t, list[i].data, list[i].split, list[i].role == "dialer")
	}
	return list
}
