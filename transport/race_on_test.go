//go:build race

package transport

// raceEnabled: the race detector slows every goroutine 5–10×, which makes
// timing targets meaningless.
const raceEnabled = true
