// Package admin is placer's admin HTTP surface, mountable on any
// http.ServeMux: a JSON API (members, view, lookup, stats, hosted keys), a
// Prometheus collector of a node's figures and a small dashboard. It
// reads a Backend — the local *placement.Cluster (ClusterBackend) or, for
// a hidden node, a *placement.Client — and holds no state of its own.
//
// NewHandler serves all three; NewCollector alone registers placer's
// figures with the caller's own Prometheus registry. The `placer agent`
// daemon (package placement/agent) serves NewHandler on --http.
package admin
