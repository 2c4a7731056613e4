package main

import (
	"io"

	"github.com/placerhq/placer/internal/faults"
)

func init() { // the logic is internal/faults'; its ErrUsage wraps bench.ErrBadConfig: exit 2 through usageIf
	register(&command{name: "bench faults", summary: "real agents in 5 network namespaces under load and faults; histories checked against the bounds (root)", run: benchFaults})
}

func benchFaults(a []string, o, e io.Writer) error { return usageIf(faults.Main(a, o, e)) }
