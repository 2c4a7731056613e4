package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The two ends of a test connection: frames are encoded as "a" and decoded
// as "b".
var (
	encA = codec{local: "a@h", peer: "b@h"}
	decB = func() *codec { return &codec{local: "b@h", peer: "a@h"} }
)

// fataler is what encodeFrame needs from *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func encodeFrame(t fataler, cd *codec, m *Message) []byte {
	t.Helper()
	n, f, err := cd.bodySize(m)
	if err != nil {
		t.Fatalf("bodySize(%+v): %v", m, err)
	}
	b := cd.appendFrame(nil, m, n, f)
	if len(b) != headerSize+n {
		t.Fatalf("encoded %d bytes, bodySize said %d", len(b), headerSize+n)
	}
	return b
}

// readAll decodes every message of a stream.
func readAll(stream []byte, maxBody int) ([]*Message, error) {
	fr := frameReader{r: bufio.NewReaderSize(bytes.NewReader(stream), 64), cd: decB(), maxBody: maxBody}
	var out []*Message
	for {
		m, err := fr.next()
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

func fullMessage(t FrameType) *Message {
	return &Message{
		Type: t, From: PID{Node: "a@h", ID: 1, Creation: 2}, To: PID{Node: "b@h", ID: 3, Creation: 4},
		ToName: "registry", Ref: 1<<63 + 5, TTL: 1500 * time.Millisecond, Status: 9,
		Reason: "killed", Payload: []byte("payload bytes"),
	}
}

func TestCodecRoundTripEveryType(t *testing.T) {
	third := PID{Node: "c@elsewhere", ID: 42, Creation: 1}
	for ft := FrameSend; ft <= FrameSpawnReply; ft++ {
		cases := []*Message{
			fullMessage(ft),
			{Type: ft},                              // every field absent
			{Type: ft, From: third, To: PID{ID: 7}}, // explicit and empty node names
			{Type: ft, To: PID{Node: "b@h"}, TTL: -time.Second}, // negative TTL, zero id
		}
		for i, m := range cases {
			got, err := readAll(encodeFrame(t, &encA, m), 1<<20)
			if !errors.Is(err, io.EOF) || len(got) != 1 {
				t.Fatalf("%v case %d: got %d messages, err %v", ft, i, len(got), err)
			}
			if !reflect.DeepEqual(got[0], m) {
				t.Errorf("%v case %d:\n got %+v\nwant %+v", ft, i, got[0], m)
			}
		}
	}
}

func TestCodecPIDForms(t *testing.T) {
	m := &Message{Type: FrameLink, From: PID{Node: "a@h", ID: 1}, To: PID{Node: "b@h", ID: 2}}
	b := encodeFrame(t, &encA, m)
	// fields, From form 1, To form 2: each PID 13 bytes, no names.
	if want := headerSize + 1 + 2*pidFixedSize; len(b) != want {
		t.Fatalf("frame is %d bytes, want %d", len(b), want)
	}
	if b[6] != pidSender || b[6+pidFixedSize] != pidReceiver {
		t.Fatalf("PID forms %d, %d; want %d, %d", b[6], b[6+pidFixedSize], pidSender, pidReceiver)
	}
	if want := 96; len(encodeFrame(t, &encA, &Message{Type: FrameSend, From: m.From, To: m.To, Payload: make([]byte, 64)})) != want {
		t.Errorf("64-byte Send is not %d bytes as docs/protocol.md says", want)
	}
}

func TestCodecReasonTruncatedAtRuneBoundary(t *testing.T) {
	long := strings.Repeat("é", 40000) // 80000 bytes of 2-byte runes
	got, _ := readAll(encodeFrame(t, &encA, &Message{Type: FrameExit, Reason: long}), 1<<20)
	if len(got) != 1 || len(got[0].Reason) != 65534 || !strings.HasPrefix(long, got[0].Reason) {
		t.Fatalf("reason of %d bytes, want a 65534-byte prefix", len(got[0].Reason))
	}
}

func TestCodecEncodeErrors(t *testing.T) {
	cases := []struct {
		m    *Message
		want error
	}{
		{&Message{Type: FrameSend, ToName: strings.Repeat("n", 70000)}, ErrFrameTooLarge},
		{&Message{Type: FrameSend, To: PID{Node: strings.Repeat("n", 256) + "@h"}}, ErrBadName},
		{&Message{Type: FrameHeartbeat}, ErrProtocol},
		{&Message{Type: FrameFragment}, ErrProtocol},
		{&Message{Type: FrameType(99)}, ErrProtocol},
	}
	for _, c := range cases {
		if _, _, err := encA.bodySize(c.m); !errors.Is(err, c.want) {
			t.Errorf("bodySize(%v): %v, want %v", c.m.Type, err, c.want)
		}
	}
}

// body builds a data body by hand.
func body(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestDecodeMalformed(t *testing.T) {
	pidSelf := body([]byte{pidSender}, make([]byte, 12))
	cases := []struct {
		name   string
		stream []byte
		want   []error
	}{
		{"unknown type", frame(16, nil), []error{ErrProtocol}},
		{"invalid type 0", frame(0, nil), []error{ErrProtocol}},
		{"handshake type after auth", frame(hsHello, nil), []error{ErrProtocol}},
		{"oversize", append([]byte{byte(FrameSend)}, u32(1<<20+1)...), []error{ErrProtocol, ErrFrameTooLarge}},
		{"heartbeat with body", frame(FrameHeartbeat, []byte{1}), []error{ErrProtocol}},
		{"empty data body", frame(FrameSend, nil), []error{ErrProtocol}},
		{"From truncated", frame(FrameSend, body([]byte{fieldFrom}, pidSelf[:5])), []error{ErrProtocol}},
		{"bad PID form", frame(FrameSend, body([]byte{fieldTo, 4}, make([]byte, 12))), []error{ErrProtocol}},
		{"PID form 0", frame(FrameSend, body([]byte{fieldTo, 0}, make([]byte, 12))), []error{ErrProtocol}},
		{"trailing bytes", frame(FrameSend, body([]byte{fieldTo}, pidSelf, []byte{1})), []error{ErrProtocol}},
		{"zero status flagged", frame(FrameExit, []byte{fieldStatus, 0}), []error{ErrProtocol}},
		{"empty ToName flagged", frame(FrameRegSend, []byte{fieldToName, 0, 0}), []error{ErrProtocol}},
		{"ToName longer than body", frame(FrameRegSend, []byte{fieldToName, 0, 9, 'x'}), []error{ErrProtocol}},
		{"empty payload flagged", frame(FrameSend, []byte{fieldPayload}), []error{ErrProtocol}},
		{"BulkAck of 3 bytes", frame(FrameBulkAck, []byte{0, 0, 1}), []error{ErrProtocol}},
		{"BulkAck of 0", frame(FrameBulkAck, u32(0)), []error{ErrProtocol}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(c.stream, 1<<20)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Fatalf("err %v, want %v", err, w)
				}
			}
		})
	}
}

func TestDecodeTruncatedStream(t *testing.T) {
	full := encodeFrame(t, &encA, fullMessage(FrameCall))
	for _, cut := range []int{1, headerSize - 1, headerSize, len(full) - 1} {
		if _, err := readAll(full[:cut], 1<<20); !errors.Is(err, errTruncated) {
			t.Errorf("cut at %d: %v, want errTruncated", cut, err)
		}
	}
	big := encodeFrame(t, &encA, &Message{Type: FrameSend, Payload: make([]byte, 100)}) // longer than the 64-byte test buffer
	if _, err := readAll(big[:len(big)-1], 1<<20); !errors.Is(err, errTruncated) {
		t.Errorf("large frame cut short: %v, want errTruncated", err)
	}
}

// fragmentModel cuts an encoded frame into Fragment frames of chunk data
// bytes, following docs/protocol.md §3 independently of the writer.
func fragmentModel(inner []byte, chunk int) []byte {
	var out []byte
	for off := 0; off < len(inner); off += chunk {
		end := min(off+chunk, len(inner))
		var flags byte
		var b []byte
		if off == 0 {
			flags |= fragFirst
		}
		if end == len(inner) {
			flags |= fragLast
		}
		b = append(b, flags)
		if off == 0 {
			b = append(b, u32(uint32(len(inner)))...)
		}
		out = append(out, frame(FrameFragment, append(b, inner[off:end]...))...)
	}
	return out
}

func TestFragmentReassembly(t *testing.T) {
	big := fullMessage(FrameSend)
	big.Payload = bytes.Repeat([]byte("0123456789"), 10000)
	small := &Message{Type: FrameSend, To: PID{Node: "b@h", ID: 9}, Payload: []byte("small")}
	frags := fragmentModel(encodeFrame(t, &encA, big), 7000)
	// A small frame between two fragments is delivered first.
	cut := bytes.Index(frags[1:], []byte{byte(FrameFragment)}) + 1
	stream := body(frags[:cut], encodeFrame(t, &encA, small), frags[cut:])
	got, err := readAll(stream, 1<<20)
	if !errors.Is(err, io.EOF) || len(got) != 2 {
		t.Fatalf("got %d messages, err %v", len(got), err)
	}
	if !reflect.DeepEqual(got[0], small) || !reflect.DeepEqual(got[1], big) {
		t.Fatalf("wrong messages or order")
	}
}

func TestFragmentMalformed(t *testing.T) {
	inner := encodeFrame(t, &encA, &Message{Type: FrameSend, Payload: make([]byte, 50)})
	heartbeatInner := frame(FrameHeartbeat, nil)
	mismatched := append(append([]byte(nil), inner...), 0) // header length one short of the reassembled size
	cases := []struct {
		name   string
		stream []byte
		want   []error
	}{
		{"continues nothing", frame(FrameFragment, []byte{0, 1}), []error{ErrProtocol}},
		{"unknown flags", frame(FrameFragment, []byte{4, 1}), []error{ErrProtocol}},
		{"no data", frame(FrameFragment, body([]byte{fragFirst}, u32(10))), []error{ErrProtocol}},
		{"FIRST twice", body(frame(FrameFragment, body([]byte{fragFirst}, u32(100), []byte{1})), frame(FrameFragment, body([]byte{fragFirst}, u32(100), []byte{1}))), []error{ErrProtocol}},
		{"total too large", frame(FrameFragment, body([]byte{fragFirst}, u32(1<<20+6), []byte{1})), []error{ErrProtocol, ErrFrameTooLarge}},
		{"total too small", frame(FrameFragment, body([]byte{fragFirst | fragLast}, u32(3), []byte{1, 2, 3})), []error{ErrProtocol}},
		{"overflow", frame(FrameFragment, body([]byte{fragFirst}, u32(6), make([]byte, 7))), []error{ErrProtocol}},
		{"LAST early", frame(FrameFragment, body([]byte{fragFirst | fragLast}, u32(uint32(len(inner))), inner[:10])), []error{ErrProtocol}},
		{"inner heartbeat", fragmentModel(heartbeatInner, 3), []error{ErrProtocol}},
		{"inner fragment", fragmentModel(frame(FrameFragment, []byte{3, 1}), 3), []error{ErrProtocol}},
		{"inner length mismatch", fragmentModel(mismatched, 20), []error{ErrProtocol}},
		{"FIRST header cut", frame(FrameFragment, []byte{fragFirst, 0, 0}), []error{ErrProtocol}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(c.stream, 1<<20)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Fatalf("err %v, want %v", err, w)
				}
			}
		})
	}
}

func TestBulkAckHooks(t *testing.T) {
	big := encodeFrame(t, &encA, &Message{Type: FrameSend, Payload: make([]byte, 10000)})
	stream := body(fragmentModel(big, 1000), frame(FrameBulkAck, u32(77)))
	var acks, credits []int
	fr := frameReader{
		r: bufio.NewReader(bytes.NewReader(stream)), cd: decB(), maxBody: 1 << 20, ackEvery: 2500,
		ack:    func(n int) { acks = append(acks, n) },
		credit: func(n int) error { credits = append(credits, n); return nil },
	}
	if m, err := fr.next(); err != nil || len(m.Payload) != 10000 {
		t.Fatalf("next: %v", err)
	}
	if _, err := fr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("next after the message: %v", err)
	}
	// 10 fragments of 1000 data bytes (the first carries 1000 too): acks
	// every 3 fragments, and the remainder with LAST.
	sum := 0
	for _, a := range acks {
		sum += a
	}
	if sum != len(big) || len(acks) != 4 || !reflect.DeepEqual(credits, []int{77}) {
		t.Fatalf("acks %v (sum %d, want %d), credits %v", acks, sum, len(big), credits)
	}
}

// TestCodecRapid checks random messages against the codec, through random
// fragmentation, with the fragmenting model above as the writer.
func TestCodecRapid(t *testing.T) {
	names := []string{"", "a@h", "b@h", "c@far.away"}
	genPID := func(t *rapid.T, label string) PID {
		return PID{
			Node:     rapid.SampledFrom(names).Draw(t, label+".node"),
			ID:       rapid.Uint64().Draw(t, label+".id"),
			Creation: rapid.Uint32().Draw(t, label+".creation"),
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		var stream []byte
		var want []*Message
		for i := rapid.IntRange(1, 5).Draw(t, "count"); i > 0; i-- {
			m := &Message{
				Type: FrameType(rapid.IntRange(int(FrameSend), int(FrameSpawnReply)).Draw(t, "type")),
				From: genPID(t, "from"), To: genPID(t, "to"),
				ToName: rapid.StringN(0, 20, 300).Draw(t, "toname"),
				Ref:    rapid.Uint64().Draw(t, "ref"), TTL: time.Duration(rapid.Int64().Draw(t, "ttl")),
				Status: rapid.Uint8().Draw(t, "status"), Reason: rapid.String().Draw(t, "reason"),
				Payload: rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(t, "payload"),
			}
			if len(m.Payload) == 0 {
				m.Payload = nil
			}
			f := encodeFrame(t, &encA, m)
			if chunk := rapid.IntRange(0, 4000).Draw(t, "chunk"); chunk > 0 {
				f = fragmentModel(f, chunk)
			}
			stream, want = append(stream, f...), append(want, m)
		}
		got, err := readAll(stream, 1<<20)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("read: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})
}
