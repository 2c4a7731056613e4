// Package agent is the placer daemon as a library: what `placer agent`
// runs, for a Go service that embeds a cluster node instead of running
// the command.
//
// Run starts a cluster member (or, with Config.Hidden, a hidden observer)
// and serves it until the context ends or the process gets SIGTERM or
// SIGINT: then the node hands every key it hosts to its next owner and
// leaves the gossip gracefully; a second signal closes it at once
// (ErrInterrupted), and SIGHUP calls Config.Reload. Around the node it
// keeps the pieces of an Erlang node's environment, each a small package
// of its own that can also be used alone:
//
//   - placement/agent/cookie: the cookie file, created with 48 random
//     bytes and mode 0600 on first start, refused when group or others can
//     read it or when it is shorter than 32 bytes; never logged.
//   - placement/agent/names: the names directory (epmd's role): the agent
//     registers its addresses there while it runs, the CLI finds agents by
//     name, and the transport resolves unknown nodes through it.
//   - placement/agent/admin: the admin HTTP handler (JSON API, Prometheus
//     metrics, dashboard), served on Config.HTTP or mountable on the
//     caller's own http.ServeMux.
//
// Every agent registers two keyed kinds, counter and kv (see Kinds), so a
// cluster can be exercised from the CLI without user code; Config.Kinds
// adds the service's own.
//
// Start, Agent.Serve and Agent.Stop split Run for a caller that owns its
// signal handling. Logs go to Config.Logger, a child per component; the
// cookie never appears in them.
package agent
