package global_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/global"
	"github.com/placerhq/placer/placement/placementtest"
)

// gcluster is a placementtest cluster with a global Service on every node.
type gcluster struct {
	*placementtest.Cluster
	t    *testing.T
	gcfg func(*global.Config)

	mu    sync.Mutex
	byNum map[int]*global.Service    // made by Configure, by node number
	svcs  map[string]*global.Service // started, by node name
}

// newCluster starts o.Nodes nodes with a Service each; tweak adjusts the
// services' config.
func newCluster(t *testing.T, o placementtest.Options, tweak func(*global.Config)) *gcluster {
	t.Helper()
	g := &gcluster{t: t, gcfg: tweak, byNum: map[int]*global.Service{}, svcs: map[string]*global.Service{}}
	user := o.Configure
	o.Configure = func(i int, cfg *placement.Config) {
		if user != nil {
			user(i, cfg)
		}
		s := g.newService()
		s.Configure(cfg)
		g.mu.Lock()
		g.byNum[i] = s
		g.mu.Unlock()
	}
	g.Cluster = placementtest.New(t, o)
	for i, c := range g.Nodes() {
		g.start(c, g.byNum[i+1])
	}
	return g
}

func (g *gcluster) newService() *global.Service {
	cfg := global.DefaultConfig()
	cfg.SyncInterval = 100 * time.Millisecond
	if g.gcfg != nil {
		g.gcfg(&cfg)
	}
	s, err := global.New(cfg)
	if err != nil {
		g.t.Fatal(err)
	}
	return s
}

func (g *gcluster) start(c *placement.Cluster, s *global.Service) {
	g.t.Helper()
	if err := s.Start(c); err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { _ = s.Close() })
	g.mu.Lock()
	g.svcs[c.Name()] = s
	g.mu.Unlock()
}

// add starts one more node (named name, "" for the next) with a Service.
func (g *gcluster) add(name string) (*placement.Cluster, *global.Service) {
	g.t.Helper()
	var s *global.Service
	c, err := g.AddNamed(name, func(cfg *placement.Config) {
		s = g.newService()
		s.Configure(cfg)
	})
	if err != nil {
		g.t.Fatal(err)
	}
	g.start(c, s)
	return c, s
}

// svc returns the Service of node c.
func (g *gcluster) svc(c *placement.Cluster) *global.Service {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.svcs[c.Name()]
}

// svcAt returns the Service of the i-th live node.
func (g *gcluster) svcAt(i int) *global.Service { return g.svc(g.Node(i)) }

// inbox returns a new inbox on node c, closed at the end of the test.
func inbox(t *testing.T, c *placement.Cluster) *node.Inbox {
	t.Helper()
	ib, err := c.Node().NewInbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ib.Close)
	return ib
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually fails t unless f returns nil within 5 s.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	placementtest.CheckFor(t, 5*time.Second, f)
}

func ctxBG() context.Context { return context.Background() }
