package placement

import (
	"reflect"
	"testing"
	"time"
)

// TestWatchGapChanges: after a failover, the members seen up that the new
// agent does not see alive are reported down with their status (or
// "reap" if it no longer lists them), new alive members up, each once,
// and the set of members seen up follows.
func TestWatchGapChanges(t *testing.T) {
	now := time.Unix(1, 0)
	up := map[string]bool{"a": true, "b": true, "c": true, "gone": true}
	ms := Members{Node: "b", Members: []MemberInfo{
		{Name: "a", Status: "failed"}, {Name: "b", Status: "alive"}, {Name: "c", Status: "left"}, {Name: "d", Status: "alive"},
	}}
	got := gapChanges(up, ms, "b", now)
	want := []WatchEvent{
		{Type: WatchNodeDown, Time: now, Agent: "b", Node: "a", Reason: "failed", Replayed: true},
		{Type: WatchNodeDown, Time: now, Agent: "b", Node: "c", Reason: "left", Replayed: true},
		{Type: WatchNodeDown, Time: now, Agent: "b", Node: "gone", Reason: "reap", Replayed: true},
		{Type: WatchNodeUp, Time: now, Agent: "b", Node: "d", Reason: "gap", Replayed: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("gap events\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(up, map[string]bool{"b": true, "d": true}) {
		t.Fatalf("members seen up after the gap: %v", up)
	}
	if again := gapChanges(up, ms, "b", now); len(again) != 0 {
		t.Fatalf("the same membership again: %+v", again)
	}
}
