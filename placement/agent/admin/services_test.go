package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// The cluster-service endpoints on a one-node cluster with a name, a held
// lock and a group.
func TestServicesEndpoints(t *testing.T) {
	g, err := global.New(global.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := placementtest.New(t, placementtest.Options{Nodes: 1, Configure: func(_ int, cfg *placement.Config) { g.Configure(cfg) }})
	c := h.Node(0)
	if err := g.Start(c); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	scope, err := pg.Start(c.Node(), pg.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer scope.Close()
	ib, _ := c.Node().NewInbox()
	defer ib.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.RegisterName(ctx, "todo_list/bob", ib.Self()); err != nil {
		t.Fatal(err)
	}
	if _, err := g.SetLock(ctx, "res", ib.Self(), global.LockOpts{}); err != nil {
		t.Fatal(err)
	}
	if err := scope.Join("workers", ib.Self()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Backend = WithServices(ClusterBackend(c), g, scope)
	hd, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names NamesReport
	getJSON(t, hd, "/api/names", &names)
	if len(names.Names) != 1 || names.Names[0].Name != "todo_list/bob" || names.Names[0].PID != ib.Self() {
		t.Fatalf("names %+v", names)
	}
	var locks LocksReport
	getJSON(t, hd, "/api/locks", &locks)
	if len(locks.Locks) != 1 || locks.Locks[0].Holder != ib.Self() || locks.Locks[0].Token == 0 {
		t.Fatalf("locks %+v", locks)
	}
	var groups GroupsReport
	getJSON(t, hd, "/api/groups", &groups)
	if len(groups.Groups) != 1 || groups.Groups[0].Size != 1 || groups.Groups[0].Members[0] != ib.Self() {
		t.Fatalf("groups %+v", groups)
	}
	metrics := getOK(t, hd, "/metrics")
	for _, m := range []string{"placer_global_names{node=", "placer_global_locks_held{node=", `placer_pg_group_members{group="workers"`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

// Without WithServices the endpoints are not there.
func TestServicesEndpointsAbsent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Backend = &fakeBackend{}
	hd, _ := NewHandler(cfg)
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/names", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
}

func getOK(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, b)
	}
	return string(b)
}

func getJSON(t *testing.T, h http.Handler, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getOK(t, h, path)), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
