// Package history is the record format of the fault harness
// (internal/faults): what the load generators and the harness log, one
// JSON object a line, and how the checker (internal/faults/check) reads it
// back.
//
// Every timestamp is CLOCK_MONOTONIC in nanoseconds (Now): the load
// generators and the harness run as separate processes in separate network
// namespaces, but on one kernel, so their timestamps compare directly.
//
// Two record types:
//   - Op: one operation of a load generator (a write, a counter increment,
//     a send, a read, a monitor and its DOWN, a membership event it saw, a
//     final read), with its node (the agent it talks to), key, value and
//     result. Every acknowledged write is recorded, not only the last one
//     per key: an overwrite hides a loss.
//   - Mark: what the harness did or observed (a fault injected or healed,
//     the failure detected, the views merged, a snapshot of which node
//     hosts which key, the owners of the keys before a fault).
package history
