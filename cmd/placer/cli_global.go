package main

import (
	"io"

	"github.com/placerhq/placer/placement/global/globalcli"
)

func init() { // global, group and lock: their flags and logic are in placement/global/globalcli
	for _, gc := range globalcli.Commands() {
		register(&command{name: gc.Name, summary: gc.Summary, run: func(args []string, stdout, stderr io.Writer) error {
			var o cliOptions
			fs := cliFlags(gc.Name, stderr, &o)
			run := gc.Flags(fs)
			pos, err := parseCLI(fs, args, stderr, cliSpec{line: gc.Line, about: gc.About, short: gc.Short, minArgs: gc.MinArgs, maxArgs: gc.MaxArgs})
			return run(err, globalcli.Env{Pos: pos, Timeout: o.timeout, JSON: o.json, Out: stdout, Err: stderr, Usage: errUsage, Client: o.client})
		}})
	}
}
