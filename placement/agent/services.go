package agent

import (
	"errors"

	"github.com/placerhq/placer/node/pg"
	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/admin"
	"github.com/placerhq/placer/placement/global"
)

// services are the cluster services a member runs beside its keyed
// processes: global names and locks (package placement/global, whose
// authority kinds Configure registers) and the default process-group
// scope (node/pg). The CLI's `global`, `group` and `lock` commands and the
// admin endpoints /api/names, /api/groups and /api/locks use them.
type services struct {
	global *global.Service
	groups *pg.Scope
}

// newServices creates the global service (it starts with the cluster).
func newServices(cfg Config) (*services, error) {
	gc := global.DefaultConfig()
	gc.Logger = cfg.Logger
	g, err := global.New(gc)
	if err != nil {
		return nil, err
	}
	return &services{global: g}, nil
}

// configure registers the authority kinds in the member's config.
func (sv *services) configure(pc *placement.Config) { sv.global.Configure(pc) }

// start attaches the global service and starts the pg scope.
func (sv *services) start(c *placement.Cluster) error {
	if err := sv.global.Start(c); err != nil {
		return err
	}
	pc := pg.DefaultConfig()
	var err error
	sv.groups, err = pg.Start(c.Node(), pc)
	return err
}

// backend adds the services' endpoints to the admin backend of c.
func (sv *services) backend(c *placement.Cluster) admin.Backend {
	return admin.WithServices(admin.ClusterBackend(c), sv.global, sv.groups)
}

// close stops both (before the node closes). Idempotent.
func (sv *services) close() error {
	var errs []error
	if sv.groups != nil {
		errs = append(errs, sv.groups.Close())
	}
	errs = append(errs, sv.global.Close())
	return errors.Join(errs...)
}

// Global returns the member's global names and locks (nil for a hidden
// agent).
func (a *Agent) Global() *global.Service {
	if a.svc == nil {
		return nil
	}
	return a.svc.global
}

// Groups returns the member's process-group scope (nil for a hidden
// agent).
func (a *Agent) Groups() *pg.Scope {
	if a.svc == nil {
		return nil
	}
	return a.svc.groups
}
