package history

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriterRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Add(Op{Start: 1, End: 2, Node: "n1", Type: OpWrite, Key: "k1", Field: "a.n1.1", Value: "1", Seq: 1, OK: true})
	w.Add(Op{Start: 3, Node: "n1", Type: OpDown, Ref: 7, PID: "<n2.1.1>", Err: "noconnection"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadFile[Op](path)
	if err != nil || len(ops) != 2 || ops[0].Field != "a.n1.1" || ops[1].Ref != 7 || !ops[0].OK {
		t.Fatalf("%v %+v", err, ops)
	}
}

func TestReadTornLastLine(t *testing.T) {
	in := `{"t":1,"type":"fault"}` + "\n" + `{"t":2,"ty`
	marks, err := Read[Mark](strings.NewReader(in))
	if err != nil || len(marks) != 1 || marks[0].Type != MarkFault {
		t.Fatalf("%v %+v", err, marks)
	}
	_, err = Read[Mark](strings.NewReader("{bad\n" + `{"t":1}` + "\n"))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a bad line before the last: %v", err)
	}
}

func TestNowMonotonic(t *testing.T) {
	a := Now()
	b := Now()
	if a <= 0 || b < a {
		t.Fatalf("Now went backwards: %d then %d", a, b)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Add(Mark{T: a, Type: MarkPhase, Label: "x"})
	if err := w.Flush(); err != nil || !strings.Contains(buf.String(), `"label":"x"`) {
		t.Fatalf("%v %q", err, buf.String())
	}
}
