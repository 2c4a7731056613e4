// Package membership is placer's cluster membership: a thin layer over
// HashiCorp Serf (v0.11, on memberlist) that tells the placement layer which
// placer nodes exist, which are alive (the ring candidates), and when that
// changes, without ever stalling Serf.
//
// # What it adds to Serf
//
//   - Identity in tags. The Serf node name is the placer node name
//     ("name@host"); tags carry the placer transport address, the ring
//     weight, the placer protocol version and a placer marker. Serf members
//     without the marker (a stock serf agent sharing the gossip pool) are
//     never reported.
//   - Signed tags. Every node signs its tags, name and gossip address with
//     a key derived from the cookie (not the gossip key), and verifies
//     everyone else's; a member with the marker but bad tags or signature
//     is refused and logged, so the gossip key alone never makes a ring
//     member.
//   - A gossip key derived from the cookie (DeriveGossipKey: HKDF-SHA256,
//     fixed salt and info, 32-byte AES key), so gossip is encrypted and
//     authenticated and a process without the cookie can neither join nor
//     read it.
//   - Two timing profiles: ProfileLAN (Serf's defaults) and ProfileLocal
//     (loopback clusters and tests; a kill is seen as failed in about 1 s).
//     ProfileTiming gives the figures; docs/membership.md derives them.
//   - Join by address with background retries, rejoin after a restart
//     (same name; optionally a Serf snapshot file), graceful Leave with a
//     bounded wait, Shutdown that ends every goroutine.
//   - Events that never block Serf: a drain loop empties Serf's event
//     channel at once; a publish loop turns what happened into Views.
//     Subscribe delivers them latest-value-wins, folding missed changes
//     into the next View, including ChangeRejoin, the signal that a
//     partition healed (or a failed node restarted).
//   - A side-quorum rule (Quorum): the current alive set against the last
//     full membership (every member seen alive, minus graceful leavers).
//   - Test infrastructure: FaultNet and FaultTransport drop gossip between
//     chosen nodes, so partitions and heals run in `go test` without root.
//
// Hidden nodes (CLI tools, observers) never start a Membership: they are not
// Serf members at all.
package membership
