package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestClusterGlobalPhases runs the global phases alone (3 nodes) and
// checks the JSON field names (not the speed).
func TestClusterGlobalPhases(t *testing.T) {
	if testing.Short() {
		t.Skip("real Serf, about 15 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := ClusterConfig{Nodes: 3}.withDefaults()
	var res ClusterResult
	if err := clusterGlobal(ctx, cfg, &res); err != nil {
		t.Fatal(err)
	}
	if err := clusterGlobalHeal(ctx, cfg, &res); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"global_call_p50_us", "global_register_p50_us", "global_whereis_p50_us", "lock_roundtrip_p50_us",
		"lock_trans_p50_us", "group_join_visible_p50_us", "group_members_p50_us", "heal_name_conflicts_resolved_ms"} {
		if v, ok := fields[f].(float64); !ok || v <= 0 {
			t.Errorf("field %s = %v", f, fields[f])
		}
	}
	t.Logf("%s", b)
	for _, tg := range globalTargets(res.GlobalFigures) {
		t.Logf("%-60s %8.3f (limit %g) met=%v", tg.Name, tg.Value, tg.Limit, tg.Met)
	}
}
