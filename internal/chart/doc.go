// Package chart draws the reports of placer's benchmarks: plain-text tables,
// JSON lines, and standalone SVG bar and line charts. It is internal so that
// it makes no compatibility promise; bench and cmd/placer use it.
package chart
