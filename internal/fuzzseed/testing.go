package fuzzseed

import (
	"reflect"
	"testing"
)

// Add adds the seed files of target under dir to f.
func Add(f *testing.F, dir, target string) {
	f.Helper()
	seeds, err := Load(dir, target)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s.Data)
	}
}

// Check fails t unless the seed files of each target under dir hold exactly
// the seeds in want; with update set it first rewrites them from want.
// rerun is the command that rewrites them, for the failure message.
func Check(t *testing.T, dir string, want map[string][]Seed, update bool, rerun string) {
	t.Helper()
	for target, seeds := range want {
		if update {
			if err := Write(dir, target, seeds); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Load(dir, target)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, seeds) {
			t.Errorf("%s/%s is stale: run %s", dir, target, rerun)
		}
	}
}
