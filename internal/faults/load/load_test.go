package load

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/leakcheck"
	"github.com/placerhq/placer/placement/agent"
	"github.com/placerhq/placer/placement/agent/cookie"
)

// startAgent runs one in-process agent on loopback (cookie and names in dir).
func startAgent(t *testing.T, dir, name string) *agent.Agent {
	t.Helper()
	cfg := agent.DefaultConfig()
	cfg.Name, cfg.Profile, cfg.JoinTimeout = name, "local", 5*time.Second
	cfg.CookieFile, cfg.NamesDir, cfg.HTTP = filepath.Join(dir, "cookie"), filepath.Join(dir, "names"), agent.HTTPOff
	a, err := agent.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGeneratorHistory runs a generator against one agent and checks what
// it logged: acknowledged writes and increments, sends, intact reads whose
// order register follows the sends, a monitor per key, and the final state
// of every key.
func TestGeneratorHistory(t *testing.T) {
	defer leakcheck.Verify(t, 10*time.Second, goleak.IgnoreCurrent())
	dir := t.TempDir()
	a := startAgent(t, dir, "n1@127.0.0.1")
	defer a.Close()
	c, err := cookie.Read(filepath.Join(dir, "cookie"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "h.jsonl")
	h, err := history.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Node: "n1@127.0.0.1", Agent: a.Info().Transport, Cookie: c, Keys: Keys(3),
		Period: 20 * time.Millisecond, History: h}
	g, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the load runs for a while: what is measured
	g.Stop()
	g.Verify(context.Background())
	if _, err := g.cl.Call(context.Background(), KindKV, "k00", []byte("get absent")); !isNoKey(err) {
		t.Fatalf("an absent field: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := history.ReadFile[history.Op](path)
	if err != nil {
		t.Fatal(err)
	}
	checkOps(t, ops)
}

func checkOps(t *testing.T, ops []history.Op) {
	t.Helper()
	count := map[string]int{}
	for _, op := range ops {
		if !op.OK && op.Type != history.OpWatch {
			t.Errorf("failed op: %+v", op)
		}
		if op.Type == history.OpRead && op.Probe > 0 && (!op.Intact || op.Order != op.Sent) {
			t.Errorf("read not intact or register behind the sends: %+v", op)
		}
		if op.End < op.Start || op.Node != "n1@127.0.0.1" {
			t.Errorf("bad times or node: %+v", op)
		}
		count[op.Type]++
	}
	for typ, min := range map[string]int{history.OpWrite: 9, history.OpIncr: 9, history.OpSend: 9, history.OpRead: 9,
		history.OpMonitor: 3, history.OpFinalKV: 3, history.OpFinalCounter: 3, history.OpFinalWhereis: 3, history.OpWatch: 1} {
		if count[typ] < min {
			t.Errorf("%d %s records, want >= %d", count[typ], typ, min)
		}
	}
}

func TestKeysAndClassify(t *testing.T) {
	if k := Keys(12); len(k) != 12 || k[0] != "k00" || k[11] != "k11" {
		t.Fatalf("%v", k)
	}
	if Classify(context.DeadlineExceeded) != history.CodeTimeout {
		t.Fatal("deadline is a timeout")
	}
}
