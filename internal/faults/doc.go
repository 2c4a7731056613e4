// Package faults is the real-process fault harness behind
// `placer bench faults` (issue 14, section 2): five `placer agent`
// processes, each in its own network namespace (package netns), a load
// generator beside each (package load), faults injected and healed under
// that load, and the histories judged by a checker (package check) against
// the bounds of the issue and of DESIGN.md.
//
// A run (Run) builds the network once and runs each Scenario on a fresh
// cluster: start the agents (same cookie, a names directory of the
// scenario, --profile, --replicas when the agent has it, --quorum for the
// quorum scenario), wait for one view, start the load generators and an
// observer that reads every agent's /api/view and /api/hosted four times a
// second through a dialer inside the agent's namespace, warm up, run the
// scenario's script (inject, wait for detection, hold, heal, wait for the
// merge and for one process per key), stop the load, read the final state
// of every key through a live node, and judge. A wait that runs out is a
// measured failure (the bounds say so), not a harness error.
//
// Cleanup, on every exit path:
//   - normal end, an error, a cancelled context (SIGINT in the command):
//     each scenario's teardown kills the load generators and agents and
//     puts the network back (no cuts, links up); Run's deferred Close kills
//     whatever is left in the namespaces and deletes them, which deletes
//     the bridge and the veths.
//   - a panic in a scenario script: recovered into the scenario's error,
//     then the same teardown.
//   - a panic elsewhere, or the harness killed: every child was started
//     with a parent-death signal (SIGKILL), so the agents and generators die
//     with the harness; the namespaces stay until the next Run, which first
//     deletes the namespaces whose creating process is dead
//     (netns.CleanupStale, idempotent), or `placer bench faults --cleanup`.
//
// Nothing is added to the host's network namespace, and the children get
// their own process group, so that a Ctrl-C at the terminal reaches only
// the harness, which stops them in order.
package faults
