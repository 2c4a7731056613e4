package membership

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/logbuf"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer = logbuf.Buffer

func TestLogBridgeLevels(t *testing.T) {
	var out syncBuffer
	l := newStdLogger(zerolog.New(&out).Level(zerolog.DebugLevel))
	l.Printf("[WARN] memberlist: something %d", 7)
	l.Printf("no level here")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`{"level":"debug","lib_level":"WARN","message":"memberlist: something 7"}`,
		`{"level":"debug","message":"no level here"}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %q", lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("line %d: %s, want %s", i, lines[i], want[i])
		}
	}
	quiet := newStdLogger(zerolog.New(&out).Level(zerolog.InfoLevel))
	before := out.String()
	quiet.Printf("[ERR] serf: dropped at info level")
	if out.String() != before {
		t.Fatal("library lines must be debug level")
	}
}

// TestCookieNeverLogged runs a small cluster with every log at debug level,
// a join by a wrong-cookie node, a leave and a kill, and checks that
// neither the cookie nor the derived key shows up in any encoding.
func TestCookieNeverLogged(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	logger := zerolog.New(&out).Level(zerolog.DebugLevel)
	c := newCluster(t, false)
	var ms []*Membership
	for i := range 3 {
		cfg := c.config(fmt.Sprintf("log%d@127.0.0.1", i))
		cfg.Logger = logger
		ms = append(ms, c.start(cfg))
	}
	allSeeAlive(t, convergeTimeout, ms, 3)
	wrong := localConfig("wrong@127.0.0.1", newCookie(t))
	wrong.Logger, wrong.RetryJoinMax, wrong.Join = logger, 1, []string{ms[0].GossipAddr()}
	w := c.start(wrong)
	waitFor(t, convergeTimeout, func() bool { return w.JoinError() != nil }, "wrong-cookie join did not fail")
	if err := ms[2].Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = ms[1].Shutdown()
	waitFor(t, detectTimeout(t, 3), func() bool { return statusOf(ms[0], ms[1].Name()) == StatusFailed }, "kill")

	logs := out.String()
	if !strings.Contains(logs, `"component":"serf"`) || !strings.Contains(logs, `"component":"membership"`) {
		t.Fatal("expected both membership and bridged serf logs")
	}
	key, _ := DeriveGossipKey(c.cookie)
	tk, _ := deriveTagKey(c.cookie)
	for _, secret := range [][]byte{c.cookie, wrong.Cookie, key, tk} {
		for _, enc := range []string{
			string(secret), hex.EncodeToString(secret), base64.StdEncoding.EncodeToString(secret),
			base64.RawStdEncoding.EncodeToString(secret), fmt.Sprint(secret),
		} {
			if strings.Contains(logs, enc) {
				t.Fatalf("a secret appears in the logs (%d bytes of logs)", len(logs))
			}
		}
	}
}
