package pg

import (
	"slices"

	"github.com/placerhq/placer/node"
)

// groupView is one group's members as readers see them. It is never
// changed once stored: every change stores a new one (copy on write), so
// Members and LocalMembers read it without the scope's lock.
type groupView struct {
	all   []node.PID // every member this node knows, with repeats
	local []node.PID // the members on this node
}

// apply returns the view after ev (v may be nil: no members yet).
func (v *groupView) apply(ev Event, self string) *groupView {
	var nv groupView
	if v != nil {
		nv = *v
	}
	locals := localOnly(ev.PIDs, self)
	if ev.Kind == Joined {
		nv.all = append(slices.Clip(nv.all), ev.PIDs...)
		if len(locals) > 0 {
			nv.local = append(slices.Clip(nv.local), locals...)
		}
		return &nv
	}
	nv.all, _ = removeEach(nv.all, ev.PIDs)
	if len(locals) > 0 {
		nv.local, _ = removeEach(nv.local, locals)
	}
	return &nv
}

func localOnly(pids []node.PID, self string) []node.PID {
	for i, p := range pids {
		if p.Node != self {
			out := slices.Clone(pids[:i])
			for _, q := range pids[i+1:] {
				if q.Node == self {
					out = append(out, q)
				}
			}
			return out
		}
	}
	return pids
}

// applyViewsLocked stores the views after evs. Called with Scope.mu held,
// so views change in the order of the events.
func (s *Scope) applyViewsLocked(evs []Event) {
	for _, ev := range evs {
		v := s.view(ev.Group).apply(ev, s.n.Self())
		if len(v.all) == 0 {
			s.groups.Delete(ev.Group)
			continue
		}
		s.groups.Store(ev.Group, v)
	}
}

// view returns group's current view, nil if it has no members.
func (s *Scope) view(group string) *groupView {
	v, ok := s.groups.Load(group)
	if !ok {
		return nil
	}
	return v.(*groupView)
}
