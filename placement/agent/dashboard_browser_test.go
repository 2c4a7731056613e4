package agent

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/cdp"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/global"
)

// TestDashboardInChromium opens the dashboard of a live 3-node cluster in
// headless Chromium: the page loads, lists every member, draws one arc set
// per member, shows each member's primaries and backups, shows the
// checksum as hex, lists a global name, a lock (its fencing token to the
// last digit) and a process group in tables, answers "what moves if" a member
// is removed with a moved share within 10 % of 1/3, and shows a killed
// member's nodedown in its live feed within 3 s. A screenshot is kept in
// $PLACER_ARTIFACTS (or the test's temporary directory). Skipped when no
// Chromium is installed (.ci/run installs it).
func TestDashboardInChromium(t *testing.T) {
	browser := cdp.Find()
	if browser == "" {
		t.Skip("chromium not installed (apt-get install -y chromium): the dashboard is not opened in a browser")
	}
	dir := t.TempDir()
	var as []*Agent
	for i := range 3 {
		cfg := testConfig(dir, fmt.Sprintf("w%d@127.0.0.1", i+1))
		if i > 0 {
			cfg.Join = []string{as[0].Info().Gossip}
		}
		as = append(as, startOK(t, cfg))
		defer as[i].Close()
	}
	poll.CheckFor(t, 10*time.Second, poll.Cond(func() bool {
		return len(as[0].Cluster().View().Members) == 3 && len(as[2].Cluster().View().Members) == 3
	}, func() string { return "3 ring members" }))

	const keys = 30 // kv, R = 2: 30 primaries and 30 backups in all
	for i := range keys {
		if _, err := as[0].Cluster().Call(context.Background(), KindKV, fmt.Sprint("dash-", i), []byte("set a 1")); err != nil {
			t.Fatal(err)
		}
	}

	b, err := cdp.Launch(browser, filepath.Join(dir, "profile"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := b.NewPage(ctx, "http://"+as[0].Info().HTTP+"/", 1400, 1100)
	if err != nil {
		t.Fatal(err)
	}
	evalTrue := func(what, expr string, timeout time.Duration) {
		t.Helper()
		var last string
		poll.CheckFor(t, timeout, poll.Cond(func() bool {
			var ok bool
			err := page.Eval(ctx, expr, &ok)
			last = fmt.Sprint(err)
			return err == nil && ok
		}, func() string { return what + " (last error: " + last + ")" }))
	}
	evalTrue("3 members listed", `document.querySelectorAll("#members tbody tr").length === 3`, 15*time.Second)
	evalTrue("one arc set per member", `document.querySelectorAll("#ring g.arcset").length === 3 &&
		[...document.querySelectorAll("#ring g.arcset path")].every(p => p.getAttribute("d").length > 10)`, 10*time.Second)
	evalTrue("each member's primaries and backups", fmt.Sprintf(`(() => {
		const sum = col => [...document.querySelectorAll("#members td[data-col=" + col + "]")].reduce((a, td) => a + (parseInt(td.textContent) || 0), 0);
		return sum("primaries") === %d && sum("backups") === %d; })()`, keys, keys), 10*time.Second)
	// Cluster services (after the count of keyed processes: names and
	// locks have authority processes): a global name and a lock held by a
	// process of the second agent, and a process group of the first; the
	// page polls them every 10 s.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	holder, err := as[1].Cluster().Node().Spawn(sctx, node.KindEcho, nil, node.SpawnOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := as[0].Global().RegisterName(sctx, "dash-name", holder); err != nil {
		t.Fatal(err)
	}
	token, err := as[1].Global().SetLock(sctx, "dash-lock", holder, global.LockOpts{})
	if err != nil {
		t.Fatal(err)
	}
	member, err := as[0].Cluster().Node().Spawn(sctx, node.KindEcho, nil, node.SpawnOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := as[0].Groups().Join("dash-group", member); err != nil {
		t.Fatal(err)
	}

	evalTrue("the global name, the lock and the group in their tables", `(() => {
		const has = (id, text) => [...document.querySelectorAll("#" + id + " td")].some(td => td.textContent === text);
		return has("svc-names", "dash-name") && has("svc-locks", "dash-lock") && has("svc-groups", "dash-group") &&
			[...document.querySelectorAll("#svc-names td")].some(td => td.textContent === "`+holder.String()+`") &&
			has("svc-locks", "`+fmt.Sprint(token)+`"); })()`, 15*time.Second) // the token exactly: a uint64, not a JS number
	evalTrue("the live feed connected", `document.getElementById("live").textContent === "live"`, 10*time.Second)
	var sum string
	if err := page.Eval(ctx, `document.querySelector("#view code").textContent`, &sum); err != nil || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(sum) {
		t.Fatalf("checksum on the page %q: %v", sum, err)
	}

	victim := as[2].Info().Name
	if err := page.Eval(ctx, `(() => { document.getElementById("whatif-op").value = "remove";
		document.getElementById("whatif-member").value = "`+victim+`"; document.getElementById("whatif-go").click(); return true })()`, nil); err != nil {
		t.Fatal(err)
	}
	evalTrue("a what-if answer", `document.getElementById("whatif-share").dataset.share !== undefined`, 10*time.Second)
	var share float64
	if err := page.Eval(ctx, `parseFloat(document.getElementById("whatif-share").dataset.share)`, &share); err != nil || math.Abs(share-1.0/3) > 0.1/3 {
		t.Fatalf("what-if remove %s: moved share %.4f (want 1/3 ± 10 %%): %v", victim, share, err)
	}

	killed := time.Now()
	_ = as[2].Close() // no leave: the others see it fail
	evalTrue("the kill in the live feed within 3 s", `[...document.querySelectorAll("#feed li")].some(li =>
		li.dataset.type === "nodedown" && li.textContent.includes("`+victim+`"))`, 3*time.Second)
	t.Logf("nodedown of %s in the feed %v after the kill", victim, time.Since(killed).Round(time.Millisecond))

	shot, err := page.Screenshot(ctx)
	if err != nil || len(shot) < 10_000 {
		t.Fatalf("screenshot of %d bytes: %v", len(shot), err)
	}
	out := os.Getenv("PLACER_ARTIFACTS")
	if out == "" {
		out = dir
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, "dashboard.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the dashboard: %s", file)
}
