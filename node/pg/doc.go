// Package pg is placer's process groups, after Erlang/OTP's pg: named
// groups of processes, on any nodes of a cluster, that a message can be
// published to, called, or asked for a member near the caller.
//
// # Where groups live, and why not on the ring
//
// Groups need no ring and no authority. As in pg, each node is
// authoritative for the members that are its own processes (only local
// processes may Join), and tells the other visible nodes running the same
// scope; every node keeps a copy of every group, so Members, LocalMembers,
// WhichGroups and Closest are local reads with no network round trip and no
// lock. Membership is eventually consistent: a join is visible on the other
// nodes one message later, and views converge after any sequence of joins,
// leaves, exits, disconnections and reconnections. Nothing is ever merged
// or resolved after a partition: a node's members are whatever that node
// says, so there is nothing to conflict. (Global names and locks, which need
// one answer cluster-wide, live on the ring in package placement/global.)
//
// The package sits beside node and uses only its public API: a scope is a
// service registered on each node under ServiceName(scope), plus an inbox
// that monitors the local members and the visible nodes.
//
// # The exchange (pg's discover and sync)
//
//   - When a scope starts, and whenever a visible node connects, it sends
//     that node's scope a discover. The receiver answers with a sync (all
//     its local members) and, if it did not know the sender, a discover of
//     its own, so both sides end with each other's members.
//   - A sync replaces everything the receiver held for the sender; joins
//     and leaves are sent to every known peer scope as they happen, in the
//     order they happen, so a sync and the joins after it never count a
//     member twice.
//   - A member that exits leaves every group (the scope monitors it). When
//     a node goes down, every other node drops its members; when it comes
//     back (or the link heals), discover and sync run again.
//   - Hidden nodes do not take part, and a node connected to two others
//     that are not connected to each other sees both sides' members while
//     they do not see each other's (membership is not transitive).
//
// Scopes are independent namespaces; DefaultScope is the usual one. The
// wire format of the messages between scopes is in docs/groups.md.
package pg
