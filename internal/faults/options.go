package faults

import (
	"fmt"
	"slices"
	"time"
)

// Nodes is the cluster size of every scenario (the five agents).
const Nodes = 5

// Options configure a run of the harness.
type Options struct {
	// Placer is the placer binary the agents and load generators run
	// (`placer agent`, `placer bench faults worker`). Required.
	Placer string
	// Scenarios to run, by name (nil: all, in the order of Scenarios()).
	Scenarios []string
	// Full runs the durations (a 30 s split; holds of 10 s) instead
	// of the short ones (10 s; 5 s).
	Full bool
	// Replicas is the R the scenarios ask for (issue 11). Passed to the
	// agents as --replicas when they have the flag; otherwise recorded as
	// unsupported and the agents run with R = 1. Default 2.
	Replicas int
	// Profile is the agents' gossip timing profile. Default "local".
	Profile string
	// Keys is the number of keys the load uses (each a kv and a counter
	// process). Default 20.
	Keys int
	// Period is the pause between two rounds of a load stream (one stream
	// per key and node: write, increment, send, read). Default 500 ms.
	Period time.Duration
	// OpTimeout bounds each load operation. Default 2 s.
	OpTimeout time.Duration
	// Dir receives every scenario's histories, agent logs and the reports
	// (report.md, report.json). Required.
	Dir string
	// Known failures (ReadKnown): reported as failures, but the run fails
	// (ErrBounds) only for the others.
	Known []Known
	// Progress, if set, gets a line for each step.
	Progress func(string)

	scenarios []Scenario // tests: run these instead of Scenarios()
}

// DefaultOptions returns Options with the defaults; Placer and Dir must
// still be set.
func DefaultOptions() Options {
	return Options{Replicas: 2, Profile: "local", Keys: 20, Period: 500 * time.Millisecond, OpTimeout: 2 * time.Second}
}

func (o *Options) validate() error {
	switch {
	case o.Placer == "" || o.Dir == "":
		return fmt.Errorf("%w: Placer and Dir are required", ErrUsage)
	case o.Replicas < 1 || o.Replicas > Nodes:
		return fmt.Errorf("%w: replicas %d (1..%d)", ErrUsage, o.Replicas, Nodes)
	case o.Profile != "local" && o.Profile != "lan":
		return fmt.Errorf("%w: profile %q (local or lan)", ErrUsage, o.Profile)
	case o.Keys < 1 || o.Keys > 1000:
		return fmt.Errorf("%w: keys %d (1..1000)", ErrUsage, o.Keys)
	case o.Period < 10*time.Millisecond || o.OpTimeout < 100*time.Millisecond:
		return fmt.Errorf("%w: period %v (>= 10ms), op timeout %v (>= 100ms)", ErrUsage, o.Period, o.OpTimeout)
	}
	for _, s := range o.Scenarios {
		if o.scenarios == nil && !slices.ContainsFunc(Scenarios(), func(sc Scenario) bool { return sc.Name == s }) {
			return fmt.Errorf("%w: unknown scenario %q", ErrUsage, s)
		}
	}
	return nil
}

// hold is how long a fault lasts: the split's (issue: 30 s) or another's.
func (o *Options) hold(split bool) time.Duration {
	switch {
	case split && o.Full:
		return 30 * time.Second
	case o.Full, split:
		return 10 * time.Second
	}
	return 5 * time.Second
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}
