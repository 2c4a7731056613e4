package global

import (
	"reflect"
	"testing"
	"time"
)

// A flush sends each node its messages in the order they were queued,
// with consecutive updates merged into one (records in order, the newest
// clock) and nothing merged across another kind of message.
func TestCoalesce(t *testing.T) {
	r := func(name string) record { return record{name: name, state: stateLive, pid: pidA, reg: 1, version: 2} }
	batch := []outMsg{
		{to: []string{"a", "b"}, m: svcMsg{op: msgUpdate, hlc: 5, recs: []record{r("x")}}},
		{to: []string{"b"}, m: svcMsg{op: msgDigest, hlc: 6, checksum: 1, digest: 2}},
		{to: []string{"a", "b", "c"}, m: svcMsg{op: msgUpdate, hlc: 7, recs: []record{r("y")}}},
		{to: []string{"a"}, m: svcMsg{op: msgUpdate, hlc: 3, recs: []record{r("z")}}},
		{to: []string{"c"}, m: svcMsg{op: msgSync, hlc: 8, recs: []record{r("s")}}},
		{to: []string{"c"}, m: svcMsg{op: msgUpdate, hlc: 9, recs: []record{r("w")}}},
	}
	want := []destMsgs{
		{to: "a", msgs: []svcMsg{{op: msgUpdate, hlc: 7, recs: []record{r("x"), r("y"), r("z")}}}},
		{to: "b", msgs: []svcMsg{
			{op: msgUpdate, hlc: 5, recs: []record{r("x")}},
			{op: msgDigest, hlc: 6, checksum: 1, digest: 2},
			{op: msgUpdate, hlc: 7, recs: []record{r("y")}},
		}},
		{to: "c", msgs: []svcMsg{
			{op: msgUpdate, hlc: 7, recs: []record{r("y")}},
			{op: msgSync, hlc: 8, recs: []record{r("s")}},
			{op: msgUpdate, hlc: 9, recs: []record{r("w")}},
		}},
	}
	if got, merged := coalesce(batch); !reflect.DeepEqual(got, want) || merged != 2 {
		t.Fatalf("coalesce (%d merged):\n got %+v\nwant %+v", merged, got, want)
	}

	// Two nodes share a message and merge different ones into it: neither
	// writes into the records the other (or the batch) holds.
	shared := append(make([]record, 0, 4), r("x"))
	got, _ := coalesce([]outMsg{
		{to: []string{"a", "b"}, m: svcMsg{op: msgUpdate, hlc: 1, recs: shared}},
		{to: []string{"a"}, m: svcMsg{op: msgUpdate, hlc: 2, recs: []record{r("y")}}},
		{to: []string{"b"}, m: svcMsg{op: msgUpdate, hlc: 3, recs: []record{r("z")}}},
	})
	want = []destMsgs{
		{to: "a", msgs: []svcMsg{{op: msgUpdate, hlc: 2, recs: []record{r("x"), r("y")}}}},
		{to: "b", msgs: []svcMsg{{op: msgUpdate, hlc: 3, recs: []record{r("x"), r("z")}}}},
	}
	if !reflect.DeepEqual(got, want) || len(shared) != 1 {
		t.Fatalf("shared records:\n got %+v\nwant %+v", got, want)
	}
}

func TestHoldFor(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	const c = 200 * time.Microsecond
	for _, tc := range []struct {
		now, last time.Time
		coalesce  time.Duration
		want      time.Duration
	}{
		{t0, time.Time{}, c, 0},         // never flushed: at once
		{t0.Add(time.Second), t0, c, 0}, // a quiet spell: at once
		{t0.Add(c), t0, c, 0},           // exactly one period later
		{t0.Add(50 * time.Microsecond), t0, c, 150 * time.Microsecond}, // busy: the rest of the period
		{t0, t0, c, c},
		{t0.Add(time.Microsecond), t0, -1, 0}, // off
		{t0.Add(-time.Second), t0, c, c},      // a clock that went back: never longer than coalesce
	} {
		if got := holdFor(tc.now, tc.last, tc.coalesce); got != tc.want {
			t.Errorf("holdFor(%v after last, %v) = %v, want %v", tc.now.Sub(tc.last), tc.coalesce, got, tc.want)
		}
	}
}
