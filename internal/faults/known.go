package faults

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Known is a failure listed as known: the bounds of Scenario whose name
// starts with Bound fail for the reason Why (a bug with its issue). A run
// given known failures reports them as failures still, but ends with
// ErrBounds only for the others: CI keeps guarding every other bound while
// a listed bug is being fixed.
type Known struct {
	Scenario, Bound, Why string
}

// ReadKnown reads known failures, one a line: "scenario | bound name
// prefix | why"; blank lines and lines starting with # are skipped.
func ReadKnown(path string) ([]Known, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	defer f.Close()
	return parseKnown(f, path)
}

func parseKnown(r io.Reader, name string) ([]Known, error) {
	var out []Known
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 3 || strings.TrimSpace(f[0]) == "" || strings.TrimSpace(f[1]) == "" {
			return nil, fmt.Errorf("%w: %s:%d: want \"scenario | bound | why\"", ErrUsage, name, n)
		}
		out = append(out, Known{strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[2])})
	}
	return out, sc.Err()
}

// markKnown sets Known on the bounds of r that a known failure lists.
func markKnown(r *ScenarioResult, known []Known) {
	for i := range r.Bounds {
		b := &r.Bounds[i]
		for _, k := range known {
			if k.Scenario == r.Name && strings.HasPrefix(b.Name, k.Bound) {
				b.Known = k.Why
			}
		}
	}
}
