// Package fuzzseed keeps fuzz seed corpora as commented files in the
// repository's top-level testdata/fuzz/<FuzzTarget>/ directories, so that a
// reader sees what each seed exercises (Go's native corpus format has no
// comments). A test adds them with f.Add; a package regenerates its files
// from its seed list with Write.
//
// File format (NAME.seed): lines starting with '#' are comments, and one line
// "hex: <bytes in hex>" holds the input.
package fuzzseed

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Seed is one seed input with a comment saying what it exercises.
type Seed struct {
	Name    string // file name without .seed, e.g. "00-minimal"
	Comment string // one or more lines, written as # comments
	Data    []byte
}

// Load reads every dir/target/*.seed file, in name order.
func Load(dir, target string) ([]Seed, error) {
	paths, err := filepath.Glob(filepath.Join(dir, target, "*.seed"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	out := make([]Seed, 0, len(paths))
	for _, p := range paths {
		s, err := parse(p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parse(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, err
	}
	s := Seed{Name: strings.TrimSuffix(filepath.Base(path), ".seed")}
	var comments []string
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			comments = append(comments, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		case strings.HasPrefix(line, "hex:"):
			if s.Data, err = hex.DecodeString(strings.TrimSpace(strings.TrimPrefix(line, "hex:"))); err != nil {
				return Seed{}, fmt.Errorf("%s: %w", path, err)
			}
			found = true
		case strings.TrimSpace(line) != "":
			return Seed{}, fmt.Errorf("%s: unexpected line %q", path, line)
		}
	}
	if !found {
		return Seed{}, fmt.Errorf("%s: no hex line", path)
	}
	s.Comment = strings.Join(comments, "\n")
	return s, nil
}

// Write replaces dir/target's seed files with seeds.
func Write(dir, target string, seeds []Seed) error {
	d := filepath.Join(dir, target)
	old, _ := filepath.Glob(filepath.Join(d, "*.seed"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	for _, s := range seeds {
		var b strings.Builder
		for _, c := range strings.Split(s.Comment, "\n") {
			b.WriteString("# " + c + "\n")
		}
		b.WriteString("hex: " + hex.EncodeToString(s.Data) + "\n")
		if err := os.WriteFile(filepath.Join(d, s.Name+".seed"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
