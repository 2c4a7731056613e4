package chart

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

func TestChartsWellFormed(t *testing.T) {
	cases := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"bar", BarChart{Title: "t <&>", Categories: []string{"a", "b"}, Series: []Series{{"s1", []float64{1, math.NaN()}}, {"s2", []float64{-2, 3}}},
			Ref: []RefLine{{"r", 1.1}, {"r2", 1.12}}}.WriteSVG},
		{"bar-log", BarChart{Categories: []string{"a"}, Series: []Series{{"s", []float64{0.001}}, {"z", []float64{0}}}, LogY: true}.WriteSVG},
		{"bar-empty", BarChart{}.WriteSVG},
		{"line", LineChart{X: []float64{10, 100, 1000}, Series: []Series{{"s", []float64{1, 2, math.Inf(1)}}}, LogX: true, LogY: true}.WriteSVG},
		{"line-flat", LineChart{X: []float64{1, 1}, Series: []Series{{"s", []float64{5, 5}}}}.WriteSVG},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := c.write(&b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if strings.Contains(b.String(), "NaN") || strings.Contains(b.String(), "Inf") {
			t.Fatalf("%s: NaN or Inf in the SVG:\n%s", c.name, b.String())
		}
		if err := CheckSVG(b.Bytes()); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	var b bytes.Buffer
	_ = BarChart{Title: "x", Categories: []string{"c"}, Series: []Series{{"s", []float64{2}}}}.WriteSVG(&b)
	if !strings.Contains(b.String(), "<rect") || !strings.Contains(b.String(), "<title>s c: 2</title>") {
		t.Fatalf("bar not drawn:\n%s", b.String())
	}
}

func TestTableAndMedian(t *testing.T) {
	tb := &Table{Header: []string{"a", "bb"}}
	tb.Add("xyz", "1")
	var b bytes.Buffer
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	if want := "a    bb\n---  --\nxyz   1\n"; b.String() != want {
		t.Fatalf("table:\n%q\nwant\n%q", b.String(), want)
	}
	if Median(nil) != 0 || Median([]float64{3, 1, 2}) != 2 || Median([]float64{4, 1, 2, 3}) != 2.5 {
		t.Fatal("Median")
	}
}

func TestCheckSVG(t *testing.T) {
	for _, bad := range []string{"", "<html></html>", "<svg><g></svg>"} {
		if err := CheckSVG([]byte(bad)); !errors.Is(err, ErrNotSVG) {
			t.Errorf("%q: %v, want ErrNotSVG", bad, err)
		}
	}
}

func TestTableHTML(t *testing.T) {
	tb := &Table{Header: []string{"a", "b<"}}
	tb.Add("x&", "1")
	var b bytes.Buffer
	if err := tb.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	want := "<table>\n<tr><th>a</th><th>b&lt;</th></tr>\n<tr><td>x&amp;</td><td class=\"n\">1</td></tr>\n</table>\n"
	if b.String() != want {
		t.Fatalf("got %q", b.String())
	}
}

// A long line chart labels a dozen x values and draws no markers.
func TestLongLineChart(t *testing.T) {
	c := LineChart{Series: []Series{{"s", make([]float64, 500)}}}
	for i := range 500 {
		c.X = append(c.X, float64(i+1))
		c.Series[0].Values[i] = float64(i % 7)
	}
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `text-anchor="middle">`); n > maxXLabels+4 {
		t.Fatalf("%d x labels", n)
	}
	if strings.Contains(b.String(), "<circle") {
		t.Fatal("markers on a 500-point line")
	}
}
