package fuzzseed

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := []Seed{
		{Name: "00-empty", Comment: "nothing at all", Data: []byte{}},
		{Name: "01-two", Comment: "two lines\nof comment", Data: []byte{0, 1, 0xff}},
	}
	if err := Write(dir, "FuzzX", in); err != nil {
		t.Fatal(err)
	}
	out, err := Load(dir, "FuzzX")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("loaded %d seeds, wrote %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Name != in[i].Name || out[i].Comment != in[i].Comment || !bytes.Equal(out[i].Data, in[i].Data) {
			t.Errorf("seed %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
}

func TestLoadRejectsMalformed(t *testing.T) {
	for name, text := range map[string]string{
		"nohex":   "# only a comment\n",
		"badhex":  "hex: zz\n",
		"garbage": "hex: 00\nwhat is this\n",
	} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "F"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "F", "a.seed"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir, "F"); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}
