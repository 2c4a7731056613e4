// Package node is placer's process runtime: Erlang's distribution toolkit
// for Go, on top of the transport wire. It knows nothing about rings or
// Serf; package placement builds keyed processes on it. docs/node.md is the
// full contract; this is the map.
//
// # Nodes
//
// A Node (New, from a Config based on DefaultConfig) has a name
// "name@host", a creation number that changes with every incarnation, and
// a transport created by Config.Transport: TCP (TCP) or in-memory
// (transport/memnet, wired by node/inproc). Nodes connect on demand (the
// first send to a node dials it) or with Connect; they do not connect
// transitively. A hidden node (Config.Hidden: CLI tools, observers)
// connects like any other, but the connection counts as hidden on both
// sides and is listed only under NodesHidden. Node events (peer up and
// down, in the order the connections changed) reach processes through
// Proc.MonitorNode and Proc.MonitorNodes, and Go code through
// SubscribeNodeEvents.
//
// # Processes, mailboxes and PIDs
//
// A process is a goroutine with a bounded mailbox running a Behavior of a
// registered kind (Config.Kinds, RegisterKind: nothing from the wire runs
// code the node did not register). Its callbacks run one at a time on its
// goroutine; a panic ends it with an Error reason. A PID is {Node, ID,
// Creation}: a PID of an earlier creation never reaches a process of this
// one. An Inbox is a mailbox with a PID and no goroutine, for Go code that
// is not a process.
//
// Delivery between two processes is ordered and at most once. A message to
// a dead PID or unknown name is dropped silently (counted); a full mailbox
// drops messages (counted) and fails calls with ErrMailboxFull, but
// notifications (Down, Exit, node events) are never counted against the
// bound. Nothing blocks on a mailbox: the transport reader hands a frame
// over and moves on. Control signals (killing exit signals, Thaw, handoff,
// shutdown) take an urgent lane ahead of queued messages.
//
// # Calls
//
// Call (and Proc.Call, CallAsync, SpawnOn, RPC) waits for one reply keyed
// by a reference in a table of pending calls, and fails fast instead of
// hanging: ErrNoProc, ErrNoConnection (every call pending on a connection
// fails when it dies), ErrMailboxFull, ErrTimeout (a ctx without deadline
// gets Config.CallTimeout; the deadline travels with the call). Handler
// errors that wrap a sentinel of this package keep it across the wire. A
// Service is a handler for a registered name that runs inline on the
// delivering goroutine; rpc ("rex") runs each registered RPCFunc on its own
// tracked goroutine.
//
// # Monitors and links
//
// Monitor gives exactly one Down per monitor, with a Reason (normal,
// shutdown, killed, error, noproc, noconnection, handoff); Demonitor
// removes it, even a Down already queued. Links propagate exit signals both
// ways; a process that traps exits gets them as Exit messages. A lost
// connection fires every monitor and link across it with noconnection.
//
// # Registered names
//
// Register, Whereis and Named{Name, Node} give processes local names
// (Erlang's register/2 and {name, node}); a name is freed when its process
// exits. Process names and service names share one namespace. Global names
// are not here: they live on the placement ring.
//
// # Freeze and handoff
//
// Placement moves a keyed process between nodes with Freeze (after every
// queued message, ExportState; the process then handles nothing, and new
// messages keep queueing), a spawn on the new owner from the exported
// state, and HandoffTo: the old process stops with a Handoff reason naming
// the new PID, forwards what was queued in order, and its old PID keeps
// forwarding for Config.HandoffGrace. Thaw aborts a handoff.
//
// # Shutdown and goroutines
//
// Every goroutine the node starts is tracked (internal/goset) and has ended
// when Shutdown returns: process goroutines, rpc goroutines and the
// tombstone janitor. Shutdown refuses new processes and rpcs first, stops
// every process with reason shutdown, then cancels rpc contexts and closes
// the transport. The locks a Node holds, and the order in which they may
// nest, are listed on Node.
//
// Process groups (Erlang's pg) are the small package node/pg beside this
// one.
package node
