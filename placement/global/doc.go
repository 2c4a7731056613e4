// Package global is placer's global names and locks, after Erlang/OTP's
// :global, rebuilt on the ring: the authority for a name or a lock id is
// the ring owner of that id, not a cluster-wide lock.
//
//	g, _ := global.New(global.DefaultConfig())
//	g.Configure(&cfg)              // adds the kinds placer.name and placer.lock
//	c, _ := placement.Start(cfg)
//	_ = g.Start(c)
//	err := g.RegisterName(ctx, "todo_list/bob", pid) // nil: yes; ErrNameTaken: no
//	pid, ok := g.WhereisName("todo_list/bob")        // a local read
//	token, err := g.SetLock(ctx, "some_resource", pid, global.LockOpts{Timeout: time.Second})
//
// # Where the state lives
//
// Every name and every lock id has an authority: a keyed process of the
// reserved kind KindName or KindLock whose key is the id, so it lives on
// the id's ring owner and rides placement's routing, handoff (the kinds
// export and import their state) and, with replication, its copies. An
// authority serialises the changes of its id: registrations and
// unregistrations, grants in first-come-first-served order, the fencing
// tokens. It monitors the holder, so a name or lock is released when its
// process exits or its node goes down. Only held names and locks cost a
// process: an authority with nothing to guard exits after IdleTimeout.
//
// # Dissemination: WhereisName is a local read
//
// An authority publishes each change of a name to every visible node;
// every node keeps a replica of every name, with versions (HLC timestamps
// of the authority), and answers WhereisName, RegisteredNames and Names
// from it. A send or call by name to a stale entry (the process is gone) is
// re-resolved through the authority. A node that connects gets the names
// its peer owns at once (a sync).
//
// # View changes, crashes and heals: claims
//
// When its view changes, a node claims to each name's (new) owner every
// record that owner has not confirmed, and the locks its own processes
// hold. An authority merges claims by fixed rules (merge in record.go): a
// tombstone beats the registration it ended and no other, so a name
// unregistered during a split does not come back; two live holders go to
// Config.Resolve (by default the earlier registration by hybrid logical
// clock wins, ties by node name) and the loser is told (NameConflict) or
// exited (Config.OnConflict). A lock held on both sides keeps the holder
// with the larger token and tells the other (LockLost). An authority that
// starts without handed-off state within RecoveryWindow of a view change
// first asks every visible node what it knows (one parallel round trip),
// so a crashed authority's registrations are not granted twice.
//
// # Fencing tokens
//
// A token is an HLC timestamp of the authority's node, above every token
// issued or learned for the id: handoffs carry the last token; claims and
// recoveries teach it. docs/global.md states what holds after a crash and
// what a partition can do to a lock.
//
// docs/global.md has the protocol, the wire format and measured figures.
package global
