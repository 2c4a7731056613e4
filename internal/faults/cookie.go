package faults

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/faults/check"
	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/placement/agent/cookie"
)

// scriptCookie: an agent with a wrong cookie tries to join the cluster
// from n1's namespace, and a CLI with it calls n2; the load runs
// meanwhile.
func scriptCookie(e *env) error {
	if err := e.beginFault(); err != nil {
		return err
	}
	bad := filepath.Join(e.dir, "wrong-cookie")
	if _, _, err := cookie.Ensure(bad); err != nil {
		return fmt.Errorf("%w: %v", ErrSetup, err)
	}
	n1, n2 := e.nodes[0], e.nodes[1]
	intruder := "intruder@" + n1.addr
	e.phase("a wrong-cookie agent joins through %s", n2.short())
	e.mark(markFault("wrong-cookie agent", intruder))
	p, err := startProc(intruder, filepath.Join(e.dir, "agent-intruder.log"), e.net.Exec(1, e.opts.Placer, "agent",
		"--name", intruder, "--listen", n1.addr+":9101", "--gossip", n1.addr+":7947", "--http", "off",
		"--join", n2.gossip(), "--profile", e.opts.Profile, "--cookie-file", bad,
		"--names-dir", filepath.Join(e.dir, "names-intruder"), "--join-timeout", "3s"), nil, nil)
	if err != nil {
		return err
	}
	defer p.kill()
	e.phase("a wrong-cookie CLI calls %s", n2.short())
	e.cliRefused(bad, n2)
	if err := e.sleep(e.opts.hold(false)); err != nil {
		return err
	}
	e.f.heal = history.Now()
	return nil
}

// cliRefused runs `placer members` with the wrong cookie from n1's
// namespace against n2 and records the bound.
func (e *env) cliRefused(bad string, n2 *member) {
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	argv := e.net.Exec(1, e.opts.Placer, "members", "--cookie-file", bad, "--names-dir", e.namesDir,
		"--addr", n2.short()+"@"+n2.transport(), "--timeout", "3s")
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	text := strings.TrimSpace(string(out))
	i := strings.Index(text, "authentication failed")
	refused := code == 1 && i >= 0
	if i >= 0 {
		text = "…" + text[i:]
	}
	e.bound(Bound{Name: "a CLI with a wrong cookie is refused", Source: srcDesign, Limit: `exit 1, "authentication failed"`,
		Measured: fmt.Sprintf("exit %d: %.100s", code, text), Pass: refused})
}

func judgeCookie(e *env, h *hist) {
	intruder := "intruder@" + e.nodes[0].addr
	seen := 0
	for _, m := range h.marks {
		if m.Type == history.MarkView && contains(m.Members, intruder) {
			seen++
		}
	}
	for _, op := range h.ops {
		if op.Type == history.OpWatch && op.Value == intruder {
			seen++
		}
	}
	e.bound(zero("views and events that list the wrong-cookie agent", srcDesign, seen, ""))
	total, failed, codes := check.Errors(h.ops, check.Scope{Window: check.Window{From: e.f.fault, To: e.f.end}})
	e.bound(zero("failed requests of the load meanwhile", srcDesign, failed, fmt.Sprintf("of %d %s", total, codeList(codes))))
}
