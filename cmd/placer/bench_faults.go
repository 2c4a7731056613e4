package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/placerhq/placer/internal/faults"
)

func init() {
	register(&command{
		name:    "bench faults",
		summary: "real agents in 5 network namespaces under load and faults; checks the histories against the bounds (root)",
		run: func(args []string, stdout, stderr io.Writer) error {
			err := faults.Command(args, os.Stdin, stdout, stderr)
			if errors.Is(err, faults.ErrUsage) {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			return err
		},
	})
}
