package node

import (
	"fmt"
	"sort"
)

// Register registers the local process pid under name (register/2). The
// name is freed when the process exits. Names of processes and services
// share one namespace.
func (n *Node) Register(name string, pid PID) error {
	p, _ := n.lookup(pid)
	if p == nil {
		return fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	return n.register(name, p)
}

func (n *Node) register(name string, p *Proc) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrBadArg)
	}
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if err := n.nameFreeLocked(name); err != nil {
		return err
	}
	if p.name != "" {
		return fmt.Errorf("%w: %s is %q", ErrAlreadyRegistered, p.pid, p.name)
	}
	if p.hasExited() {
		return fmt.Errorf("%w: %s", ErrNoProc, p.pid)
	}
	n.names[name] = p
	p.name = name
	return nil
}

// hasExited reports whether p has exited.
func (p *Proc) hasExited() bool {
	p.n.relMu.Lock()
	defer p.n.relMu.Unlock()
	return p.exited
}

// Unregister frees a registered process name (unregister/1); false if it was
// not registered to a process.
func (n *Node) Unregister(name string) bool {
	n.regMu.Lock()
	defer n.regMu.Unlock()
	p, ok := n.names[name]
	if ok {
		delete(n.names, name)
		p.name = ""
	}
	return ok
}

func (n *Node) unregisterProc(p *Proc) {
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if p.name != "" && n.names[p.name] == p {
		delete(n.names, p.name)
	}
	p.name = ""
}

// Whereis returns the PID registered as name on this node (whereis/1).
func (n *Node) Whereis(name string) (PID, bool) {
	if p := n.whereisProc(name); p != nil {
		return p.pid, true
	}
	return PID{}, false
}

func (n *Node) whereisProc(name string) *Proc {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	return n.names[name]
}

// Registered lists the registered process names, sorted (registered/0).
func (n *Node) Registered() []string {
	n.regMu.RLock()
	out := make([]string, 0, len(n.names))
	for name := range n.names {
		out = append(out, name)
	}
	n.regMu.RUnlock()
	sort.Strings(out)
	return out
}

// Processes lists the PIDs of the live processes and inboxes, sorted by id.
func (n *Node) Processes() []PID {
	var out []PID
	n.procs.Range(func(_, v any) bool {
		if p := v.(*Proc); !p.hasExited() {
			out = append(out, p.pid)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RegisterKind adds a process kind to the node's table (see Config.Kinds).
func (n *Node) RegisterKind(name string, f KindFactory) error {
	if name == "" || f == nil {
		return fmt.Errorf("%w: kind needs a name and a factory", ErrBadArg)
	}
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if _, dup := n.kinds[name]; dup {
		return fmt.Errorf("%w: kind %q", ErrNameTaken, name)
	}
	n.kinds[name] = f
	return nil
}

// Kinds lists the registered process kinds, sorted.
func (n *Node) Kinds() []string {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	return sortedKeys(n.kinds)
}

func (n *Node) kindFactory(name string) (KindFactory, error) {
	n.regMu.RLock()
	f := n.kinds[name]
	n.regMu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w: %q on %s", ErrUnknownKind, name, n.name)
	}
	return f, nil
}

// RegisterRPC adds an rpc function (see Config.RPCs). Each call runs on its
// own goroutine with a ctx that ends at the caller's deadline or at
// shutdown.
func (n *Node) RegisterRPC(name string, fn RPCFunc) error {
	if name == "" || fn == nil {
		return fmt.Errorf("%w: rpc needs a name and a function", ErrBadArg)
	}
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if _, dup := n.rpcs[name]; dup {
		return fmt.Errorf("%w: rpc %q", ErrNameTaken, name)
	}
	n.rpcs[name] = fn
	return nil
}

// DescribeRPC records the shapes of rpc function name's arguments and
// result, as the rpc.list rpc reports them (free text: "key, n",
// "[pid]"; "-" for none). It may come before or after RegisterRPC.
func (n *Node) DescribeRPC(name, args, result string) {
	n.regMu.Lock()
	defer n.regMu.Unlock()
	if n.rpcDocs == nil {
		n.rpcDocs = map[string][2]string{}
	}
	n.rpcDocs[name] = [2]string{args, result}
}

// RPCInfos lists the registered rpc functions with their shapes, sorted.
func (n *Node) RPCInfos() []RPCInfo {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	out := make([]RPCInfo, 0, len(n.rpcs))
	for _, name := range sortedKeys(n.rpcs) {
		info := RPCInfo{Name: name, Args: "?", Result: "?"}
		if d, ok := n.rpcDocs[name]; ok {
			info.Args, info.Result = d[0], d[1]
		}
		out = append(out, info)
	}
	return out
}

// RegisteredAll lists the registered names of processes and services,
// sorted: what Stats.Registered counts.
func (n *Node) RegisteredAll() []string {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	out := append(sortedKeys(n.names), sortedKeys(n.services)...)
	sort.Strings(out)
	return out
}

// RPCs lists the registered rpc functions, sorted.
func (n *Node) RPCs() []string {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	return sortedKeys(n.rpcs)
}

func (n *Node) rpcFunc(name string) RPCFunc {
	n.regMu.RLock()
	defer n.regMu.RUnlock()
	return n.rpcs[name]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookup finds the local process (or handoff tombstone) for pid. A PID of
// another creation of this node is counted as stale.
func (n *Node) lookup(pid PID) (p *Proc, stale bool) {
	if pid.Node != n.name {
		return nil, false
	}
	if pid.Creation != n.creation {
		return nil, true
	}
	v, ok := n.procs.Load(pid.ID)
	if !ok {
		return nil, false
	}
	return v.(*Proc), false
}

// resolveLocal finds the local process a destination names; nil if none.
func (n *Node) resolveLocal(dest Dest) *Proc {
	switch d := dest.(type) {
	case PID:
		p, _ := n.lookup(d)
		return p
	case Named:
		return n.whereisProc(d.Name)
	}
	return nil
}

// destNode is the node a destination lives on ("" Node means local).
func (n *Node) destNode(dest Dest) string {
	switch d := dest.(type) {
	case PID:
		return d.Node
	case Named:
		if d.Node == "" {
			return n.name
		}
		return d.Node
	}
	return ""
}

// ProcessInfo describes a local process (process_info/1).
type ProcessInfo struct {
	PID          PID    `json:"pid"`
	Kind         string `json:"kind"` // "" for an inbox
	Name         string `json:"name,omitempty"`
	Inbox        bool   `json:"inbox,omitempty"`
	MailboxLen   int    `json:"mailbox_len"`
	MailboxDrops uint64 `json:"mailbox_drops"` // messages and calls refused because full
	TrapExit     bool   `json:"trap_exit,omitempty"`
	Frozen       bool   `json:"frozen,omitempty"`
	Links        int    `json:"links"`        // linked processes
	Monitors     int    `json:"monitors"`     // monitors it holds
	MonitoredBy  int    `json:"monitored_by"` // monitors on it
}

// ProcessInfo returns information about the live local process pid.
func (n *Node) ProcessInfo(pid PID) (ProcessInfo, error) {
	p, _ := n.lookup(pid)
	if p == nil {
		return ProcessInfo{}, fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	info := ProcessInfo{
		PID: p.pid, Kind: p.kind, Name: p.Name(), Inbox: p.inbox,
		MailboxLen: p.mb.length(), MailboxDrops: p.mb.dropped.Load(),
		TrapExit: p.trap.Load(), Frozen: p.fz.Load() == fzFrozen,
	}
	n.relMu.Lock()
	defer n.relMu.Unlock()
	if p.exited {
		return ProcessInfo{}, fmt.Errorf("%w: %s", ErrNoProc, pid)
	}
	info.Links = len(n.rel.links[p.pid.ID])
	info.Monitors = len(n.rel.monsOf[p.pid.ID])
	info.MonitoredBy = len(n.rel.watchers[p.pid.ID])
	return info, nil
}

// nameFreeLocked returns ErrNameTaken if a process or a service holds name.
// Processes and services share one namespace.
func (n *Node) nameFreeLocked(name string) error {
	if _, taken := n.names[name]; taken {
		return fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	if _, taken := n.services[name]; taken {
		return fmt.Errorf("%w: %q (a service)", ErrNameTaken, name)
	}
	return nil
}

// MailboxDepth returns the messages queued in all local processes'
// mailboxes now, and the deepest one: what an operator watches for a
// backlog. It walks every process (no lock held across the walk).
func (n *Node) MailboxDepth() (total, deepest int) {
	n.procs.Range(func(_, v any) bool {
		if p, ok := v.(*Proc); ok && p.mb != nil {
			l := p.mb.length()
			total += l
			deepest = max(deepest, l)
		}
		return true
	})
	return total, deepest
}
