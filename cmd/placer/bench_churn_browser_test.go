package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The --out report opens in a real browser: headless Chromium renders
// index.html (tables and the SVG timelines it links) to a screenshot, kept
// as an artifact in $PLACER_ARTIFACTS (or the test's temporary directory),
// and its DOM holds the results table and every chart. Skipped when
// Chromium is not installed (.ci/run installs it).
func TestBenchChurnReportInChromium(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("chromium not installed (apt-get install -y chromium): the report is not opened in a browser")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "report")
	var stdout, stderr bytes.Buffer
	args := append(tinyBenchChurn, "--scenario", "zone-loss,flapping", "--views", "local", "--out", dir)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	artifacts := os.Getenv("PLACER_ARTIFACTS")
	if artifacts == "" {
		artifacts = tmp
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifacts, "bench-churn-index.png")
	index := "file://" + filepath.Join(dir, "index.html")
	chromium(t, browser, tmp, "--screenshot="+shot, "--window-size=1400,2400", index)
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (size %d): nothing rendered", shot, err, sizeOf(st))
	}
	t.Logf("screenshot of the report: %s", shot)
	dom := chromium(t, browser, tmp, "--dump-dom", index)
	for _, want := range []string{"<table>", "misrouted %", "zone-loss-12-moved.svg", "flapping-12-peak.svg", "Rankings"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the rendered page lacks %q", want)
		}
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium runs headless Chromium with a fresh profile and returns stdout.
func chromium(t *testing.T, browser, tmp string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp(tmp, "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", browser, args, err, errb.String())
	}
	return out.String()
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}
