package cliflag

import (
	"errors"
	"flag"
	"io"
	"testing"
)

// TestEnvOrder: flags win over PLACER_* variables, which win over what the
// flag held before (a config file's value, the default); a bad value names
// the variable.
func TestEnvOrder(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "file-value", "")
	weight := fs.Int("weight", 1, "")
	var join []string
	fs.Var(&List{P: &join}, "join", "")
	t.Setenv("PLACER_NAME", "env-name")
	t.Setenv("PLACER_WEIGHT", "7")
	t.Setenv("PLACER_JOIN", "a:1,b:2")
	if err := Parse(fs, []string{"--weight", "3"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if *name != "env-name" || *weight != 3 || len(join) != 2 {
		t.Fatalf("name %q weight %d join %v", *name, *weight, join)
	}
	t.Setenv("PLACER_WEIGHT", "many")
	fs2 := flag.NewFlagSet("y", flag.ContinueOnError)
	fs2.Int("weight", 1, "")
	if err := ApplyEnv(fs2); !errors.Is(err, ErrUsage) || err.Error() == "" {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	n := fs.Int("n", 1, "")
	pos, err := ParseInterleaved(fs, []string{"KEY", "--n", "3", "-1", "--", "--x"})
	if err != nil || *n != 3 || len(pos) != 3 || pos[1] != "-1" || pos[2] != "--x" {
		t.Fatalf("%v %d %v", pos, *n, err)
	}
}
