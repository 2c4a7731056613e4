package global_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/rs/zerolog"

	"github.com/placerhq/placer/internal/logbuf"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// propCluster drives a real cluster (static views, memnet) with register,
// unregister, process deaths and view changes (join, graceful leave,
// crash), against a naive model: a map of names to holders. After every
// step, every node's replica must agree with the model.
type propCluster struct {
	t     *rapid.T
	h     *placementtest.Cluster
	svcs  map[string]*global.Service
	procs []*node.Inbox       // live processes
	model map[string]node.PID // the model: name -> holder
	ctx   context.Context
	logs  *logbuf.Buffer // every node's log, debug level
}

var propNames = []string{"a", "b", "c", "d"}

func newPropCluster(t *rapid.T) *propCluster {
	pc := &propCluster{t: t, svcs: map[string]*global.Service{}, model: map[string]node.PID{}, ctx: context.Background(), logs: &logbuf.Buffer{}}
	h, err := placementtest.Start(context.Background(), placementtest.Options{Logger: zerolog.New(pc.logs).Level(zerolog.DebugLevel)})
	if err != nil {
		t.Fatal(err)
	}
	pc.h = h
	for range 3 {
		pc.join(t)
	}
	return pc
}

func (pc *propCluster) close() {
	for _, s := range pc.svcs {
		_ = s.Close()
	}
	_ = pc.h.Close()
}

func (pc *propCluster) service(c *placement.Cluster) *global.Service { return pc.svcs[c.Name()] }

// join starts a node with a Service and a process on it.
func (pc *propCluster) join(t *rapid.T) {
	if len(pc.h.Nodes()) >= 5 {
		t.Skip("enough nodes")
	}
	var s *global.Service
	c, err := pc.h.AddWith(func(cfg *placement.Config) {
		gc := global.DefaultConfig()
		gc.SyncInterval = 50 * time.Millisecond
		s, _ = global.New(gc)
		s.Configure(cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(c); err != nil {
		t.Fatal(err)
	}
	pc.svcs[c.Name()] = s
	pc.spawn(c)
}

func (pc *propCluster) spawn(c *placement.Cluster) {
	ib, err := c.Node().NewInbox()
	if err != nil {
		pc.t.Fatal(err)
	}
	pc.procs = append(pc.procs, ib)
}

func (pc *propCluster) anyNode(t *rapid.T, label string) *placement.Cluster {
	ns := pc.h.Nodes()
	return ns[rapid.IntRange(0, len(ns)-1).Draw(t, label)]
}

func (pc *propCluster) register(t *rapid.T) {
	if len(pc.procs) == 0 {
		t.Skip("no process")
	}
	name := rapid.SampledFrom(propNames).Draw(t, "name")
	p := rapid.SampledFrom(pc.procs).Draw(t, "proc")
	via := pc.anyNode(t, "via")
	err := pc.service(via).RegisterName(pc.ctx, name, p.Self())
	switch holder := pc.model[name]; {
	case holder.IsZero() || holder == p.Self():
		if err != nil {
			t.Fatalf("register %s for %v via %s: %v, want yes%s", name, p.Self(), via.Name(), err, pc.describe(name))
		}
		pc.model[name] = p.Self()
	default:
		var te *global.TakenError
		if !errors.As(err, &te) || te.Holder != holder {
			t.Fatalf("register %s: %v, want no naming %v%s", name, err, holder, pc.describe(name))
		}
	}
}

func (pc *propCluster) unregister(t *rapid.T) {
	name := rapid.SampledFrom(propNames).Draw(t, "name")
	via := pc.anyNode(t, "via")
	err := pc.service(via).UnregisterName(pc.ctx, name)
	if _, held := pc.model[name]; held != (err == nil) || (!held && !errors.Is(err, global.ErrNotRegistered)) {
		t.Fatalf("unregister %s via %s: %v (model holder %v)%s", name, via.Name(), err, pc.model[name], pc.describe(name))
	}
	delete(pc.model, name)
}

// describe says, for a failure's message, how every node sees name: its
// view, its replica entry, and the authority's keyed process if it hosts
// one (or had one handed off: the node's forward count).
func (pc *propCluster) describe(name string) string {
	out := ""
	for _, c := range pc.h.Nodes() {
		v := c.View()
		out += fmt.Sprintf("\n%s epoch %d members %v: %s; forwarded %d", c.Name(), v.Epoch, v.Members, pc.service(c).DebugEntry(name), c.Node().Stats().Forwarded)
		for _, h := range c.Hosted() {
			if h.Kind == global.KindName && h.Key == name {
				out += fmt.Sprintf("; hosts %s %v", h.State, h.PID)
			}
		}
	}
	lines := strings.Split(pc.logs.String(), "\n")
	out += "\nlog lines about the name's key (last 40):"
	var about []string
	for _, l := range lines {
		if strings.Contains(l, `"key":"`+name+`"`) || strings.Contains(l, "view changed") || strings.Contains(l, "node down") {
			about = append(about, l)
		}
	}
	for _, l := range about[max(0, len(about)-40):] {
		out += "\n  " + l
	}
	return out
}

// kill ends a process: its names are released.
func (pc *propCluster) kill(t *rapid.T) {
	if len(pc.procs) == 0 {
		t.Skip("no process")
	}
	i := rapid.IntRange(0, len(pc.procs)-1).Draw(t, "proc")
	pc.dead(func(p node.PID) bool { return p == pc.procs[i].Self() })
	pc.procs[i].Close()
	pc.procs = slices.Delete(pc.procs, i, i+1)
}

// dead drops the processes matching gone from the model's holders.
func (pc *propCluster) dead(gone func(node.PID) bool) {
	for name, p := range pc.model {
		if gone(p) {
			delete(pc.model, name)
		}
	}
}

func (pc *propCluster) spawnAny(t *rapid.T) { pc.spawn(pc.anyNode(t, "node")) }

// leave makes a node (not the first) leave gracefully, or crash: either
// way its processes are gone.
func (pc *propCluster) leave(t *rapid.T) {
	ns := pc.h.Nodes()
	if len(ns) <= 2 {
		t.Skip("too few nodes")
	}
	c := ns[rapid.IntRange(1, len(ns)-1).Draw(t, "node")]
	crash := rapid.Bool().Draw(t, "crash")
	pc.dead(func(p node.PID) bool { return p.Node == c.Name() })
	pc.procs = slices.DeleteFunc(pc.procs, func(ib *node.Inbox) bool { return ib.Self().Node == c.Name() })
	var err error
	if crash {
		err = pc.h.Crash(c)
	} else {
		err = pc.h.Leave(pc.ctx, c)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.svcs[c.Name()].Close()
	delete(pc.svcs, c.Name())
}

// check: every node's replica agrees with the model (once the changes
// have spread).
func (pc *propCluster) check(t *rapid.T) {
	err := poll.Until(pc.ctx, 5*time.Second, func() error {
		for _, c := range pc.h.Nodes() {
			if err := pc.agrees(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		msg := err.Error()
		for _, c := range pc.h.Nodes() {
			for _, name := range propNames {
				msg += fmt.Sprintf("\n%s view %x %s: %s", c.Name(), c.View().Checksum, name, pc.service(c).DebugEntry(name))
			}
		}
		t.Fatal(msg)
	}
}

func (pc *propCluster) agrees(c *placement.Cluster) error {
	s := pc.service(c)
	for _, name := range propNames {
		if pid, _ := s.WhereisName(name); pid != pc.model[name] {
			return fmt.Errorf("%s: whereis %s = %v, model %v", c.Name(), name, pid, pc.model[name])
		}
	}
	return nil
}

func TestPropNames(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pc := newPropCluster(t)
		defer pc.close()
		t.Repeat(map[string]func(*rapid.T){
			"register":   pc.register,
			"unregister": pc.unregister,
			"kill":       pc.kill,
			"spawn":      pc.spawnAny,
			"join":       pc.join,
			"leave":      pc.leave,
			"":           pc.check,
		})
	})
}
