// Package netns builds the network of the fault harness (internal/faults):
// one Linux network namespace per node, each with a veth whose other end is
// a port of a bridge in a hub namespace of its own, with the addresses
// 198.18.0.1, .2, ... (RFC 2544's benchmarking range, 198.18.0.0/15)
// that exist only inside those namespaces. Nothing is added to the host's
// namespace: no address, no route, no rule, no interface, so parallel runs
// and the host cannot see or disturb one another.
//
// Faults: Cut drops every packet between sets of nodes with iptables rules
// in the receiving namespaces (INPUT, DROP: silent both ways, like a real
// partition; a cut of only A–C while both reach B is a Cut of {A} and {C}),
// LinkDown unplugs a node's cable at the bridge (`ip link set down` on the
// bridge's port). Heal and LinkUp undo them.
//
// Cleanup: Close kills every process left in the namespaces and deletes
// them, which deletes the bridge and the veths; it is idempotent. The names
// carry the creating process's pid ("plf<pid>x<seq>-n1"), so CleanupStale
// removes what a harness that died without Close (SIGKILL, a panic on
// another goroutine) left behind, and nothing of a live one.
//
// It needs root, `ip` (iproute2) and, for Cut, `iptables-restore`.
package netns
