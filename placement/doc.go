// Package placement turns a set of placer nodes into one keyed-process
// service: Serf membership (package membership) gives the alive members,
// a consistent-hash ring (package ring) over them gives each key an owner,
// and processes addressed by {kind, key} are started on their owner on
// first use, routed to it from any node, and handed off with their state
// when the owner changes.
//
//	cfg := placement.DefaultConfig()
//	cfg.Name, cfg.Cookie = "node1@10.0.0.5", cookie
//	cfg.ListenAddr = "10.0.0.5:9100"
//	cfg.Membership.BindAddr, cfg.Membership.BindPort = "10.0.0.5", 7946
//	cfg.Membership.Join = []string{"10.0.0.4:7946"}
//	cfg.Kinds = map[string]node.KindFactory{"cart": newCart}
//	c, err := placement.Start(cfg)
//	...
//	reply, err := c.Call(ctx, "cart", "user-42", req) // on the owner of "user-42"
//	...
//	err = c.Leave(ctx) // hand every key off, then leave
//
// # Views
//
// A View is the ring of the alive members that are not draining, with a
// local Epoch and a cross-node Checksum (two nodes with equal checksums
// place every key alike). Owner and OwnerN answer from the current view;
// ownership depends on the key only, so every kind of one key lives on the
// same node.
//
// # Routing
//
// Send, Call, EnsureProcess and Whereis go to the service "placer.route"
// on the key's owner in the sender's view. A node that hosts the key
// serves it even if its view now names another owner (the planner moves
// the key soon); a node that owns the key and does not host it starts it
// (after asking recent previous owners whether they still host it); any
// other node forwards the request along its own view, at most MaxHops
// times, and then answers ErrNotOwner naming the owner it believes in.
// While views disagree nothing is lost silently: a message is delivered,
// or its call returns an error, or (a send) it is counted in Stats.Dropped.
//
// # Handoff
//
// When the view changes, the planner (a pure function of the hosted keys
// and the old and new rings) lists the keys to move; MigrationBudget
// workers push them: the old owner buffers new requests, freezes the
// process, the new owner starts it from its exported state, the buffered
// requests follow in order, and only then does the old process stop
// (its monitors get DOWN handoff with the new PID). Leave drains a node
// this way before it leaves Serf. A node that fails loses its processes;
// they restart fresh on their new owners on next use.
//
// # Partitions
//
// Availability first: each side of a partition owns every key of its own
// view. On heal, the side that does not own a key under the merged ring
// pushes its copy; the owner keeps its own if it has one (a conflict: the
// loser's exported state goes to Config.Conflict, and an EventConflict is
// emitted), so that one process per key remains. In quorum mode a side
// without a strict majority refuses routed requests with ErrNoQuorum.
//
// # Cluster services on the ring
//
// Global names and locks (package placement/global) are built above this
// package with its public API: their authorities are keyed processes of
// reserved kinds, so the authority for an id is the ring owner of that id.
// Process groups need no ring (package node/pg).
//
// docs/placement.md describes the protocol, the wire formats and the
// measured behaviour.
package placement
