// Package placementtest runs a placer cluster inside one process, for
// tests of keyed kinds (yours and placer's own), benchmarks and demos, in
// the spirit of etcd's rafttest. It does not import package testing, so
// benchmarks and commands can use it too; New and CheckFor take any
// testing.TB.
//
//	c := placementtest.New(t, placementtest.Options{Nodes: 3, Kinds: myKinds})
//	out, err := c.Node(0).Call(ctx, "cart", "user-42", req)
//	c.Crash(c.Node(1))
//	placementtest.CheckFor(t, 5*time.Second, func() error { return placementtest.Settled(c.Nodes(), "cart") })
//
// A Cluster's nodes talk over an in-memory transport (transport/memnet) or
// TCP on 127.0.0.1, through a wire that can cut pairs of nodes
// (Partition, Heal) and crash a node (its peers see noconnection). Views
// come from static membership (Config.Static: the harness installs them;
// deterministic and fast) or from real Serf on 127.0.0.1 with the local
// profile, through a membership.FaultNet that drops gossip across a cut.
//
// The Counter kind is a stateful keyed process that detects loss,
// duplication and reordering: it counts "sender seq" messages, remembers
// where it was born (a fresh start has a new Born) and the last sequence
// number per sender. Traffic sends to keys from several goroutines and
// counts what it sent per key; Delivery checks, key by key, that every
// sent message is in the key's state or, after a conflict (a key that ran
// on both sides of a false failure or a partition, R = 1), in the state
// the losing copy handed to Config.Conflict.
//
// Nothing here sleeps to wait: CheckFor and WaitFor poll a condition with
// a deadline (internal/poll), and the predicates (Converged, Settled,
// Duplicates, HostMap) return an error that says what is still missing.
package placementtest
