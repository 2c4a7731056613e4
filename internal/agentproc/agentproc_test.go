package agentproc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/placement/agent"
)

// buildPlacer compiles the placer command for the test.
func buildPlacer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the placer binary and runs agent processes")
	}
	bin := filepath.Join(t.TempDir(), "placer")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/placerhq/placer/cmd/placer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The checker finds every acknowledged write while nothing is lost, and
// finds a write that is deleted behind its back (the check can fail);
// Kill, Start and Term work on real agents, and Close ends them all.
func TestClusterAndChecker(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Config{Bin: buildPlacer(t), Dir: t.TempDir(), Flags: []string{"--replicas", "2"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := c.Client(3*time.Second, c.Name(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	keys := KVKeys(30)
	w := StartKVWriters(cl, keys, 3, 3*time.Second)
	defer w.Halt()
	if err := w.Flowing(ctx, 300, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, c.Name(3)); err != nil {
		t.Fatal(err)
	}
	if got := c.Running(); len(got) != 2 {
		t.Fatalf("running after a kill: %v", got)
	}
	if err := c.Start(ctx, c.Name(3)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitMembers(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := w.Flowing(ctx, 100, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	mark := w.Acked()
	res, err := w.Check(ctx, cl, 4, mark, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost != 0 || res.Acked < 400 {
		t.Fatalf("check: %+v, want 0 lost of at least 400", res)
	}
	// Delete one acknowledged write; the next check must find it missing,
	// counted before the mark.
	if _, err := cl.Call(ctx, agent.KindKV, keys[0], []byte("del w0-0")); err != nil {
		t.Fatal(err)
	}
	res, err = w.Check(ctx, cl, 4, mark, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost != 1 || res.LostBefore != 1 || res.First != keys[0]+"/w0-0" {
		t.Fatalf("after a delete: %+v, want one lost write %s/w0-0", res, keys[0])
	}
	if err := poll.Until(ctx, 30*time.Second, func() error { return c.CheckCopies(ctx, agent.KindKV, keys, 2) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Term(ctx, c.Name(2), time.Minute); err != nil {
		t.Fatal(err)
	}
	// DumpAll leaves a goroutine dump of each running agent (1 and 3),
	// which then exit.
	files, err := c.DumpAll(ctx, t.TempDir())
	if err != nil || len(files) != 2 {
		t.Fatalf("DumpAll: %v %v, want 2 files", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "goroutine ") || !strings.Contains(string(b), "placement.") {
			t.Fatalf("%s: %v: not a goroutine dump: %.300s", f, err, b)
		}
	}
	if got := c.Running(); len(got) != 0 {
		t.Fatalf("running after DumpAll: %v", got)
	}
	c.Close()
	for _, name := range c.Names() {
		if c.Proc(name).Running() {
			t.Errorf("%s still runs after Close", name)
		}
	}
	if strings.TrimSpace(c.Logs(100)) == "" {
		t.Error("no log section")
	}
}
