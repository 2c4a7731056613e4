package chart

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Series is one named sequence of values in a chart. NaN values are not
// drawn.
type Series struct {
	Name   string
	Values []float64
}

// RefLine is a horizontal reference line (a target or an ideal value).
type RefLine struct {
	Label string
	Y     float64
}

// BarChart is a grouped bar chart: one group per category, one bar per
// series in each group.
type BarChart struct {
	Title      string
	XLabel     string
	YLabel     string
	Categories []string
	Series     []Series // Values[i] belongs to Categories[i]
	Ref        []RefLine
	LogY       bool // logarithmic y axis (values must be > 0)
}

// LineChart draws each series as a line over the x values.
type LineChart struct {
	Title  string
	XLabel string
	YLabel string
	X      []float64
	Series []Series // Values[i] is at X[i]
	Ref    []RefLine
	LogX   bool
	LogY   bool
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH       = 720.0, 400.0
	chartPadL, chartPadR = 70.0, 170.0 // right padding holds the legend
	chartPadT, chartPadB = 40.0, 50.0
)

// A line chart labels at most maxXLabels x values (the first of every
// n-th and the last), and marks its points only when it has at most
// maxMarkers of them (a long timeline is a plain line).
const (
	maxXLabels = 12
	maxMarkers = 40
)

// chartColour returns the i-th colour of a colour-blind friendly palette
// (Okabe–Ito, then grey).
func chartColour(i int) string {
	p := [...]string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999"}
	return p[i%len(p)]
}

// svgWriter accumulates SVG output and the first write error.
type svgWriter struct {
	w   *bufio.Writer
	err error
}

func (s *svgWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

func (s *svgWriter) finish() error {
	s.printf("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

// chartAxis maps data values to pixels.
type chartAxis struct {
	lo, hi   float64 // data range (log10 of it when log)
	p0, p1   float64 // pixel range
	log      bool
	ticks    []float64
	tickText []string
}

func newChartAxis(values []float64, p0, p1 float64, log, includeZero bool) chartAxis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if !drawable(v, log) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	a := chartAxis{p0: p0, p1: p1, log: log}
	if log {
		a.lo, a.hi = math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if a.hi == a.lo {
			a.hi++
		}
		for e := a.lo; e <= a.hi; e++ {
			a.ticks = append(a.ticks, math.Pow(10, e))
			a.tickText = append(a.tickText, chartNum(math.Pow(10, e)))
		}
		return a
	}
	if includeZero {
		lo = math.Min(lo, 0)
	}
	if hi == lo {
		hi = lo + 1
	}
	step := chartNiceStep((hi - lo) / 5)
	a.lo, a.hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	for t := a.lo; t <= a.hi+step/2; t += step {
		a.ticks = append(a.ticks, t)
		a.tickText = append(a.tickText, chartNum(t))
	}
	return a
}

func chartNiceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

func (a chartAxis) pos(v float64) float64 {
	if a.log {
		v = math.Log10(v)
	}
	return a.p0 + (v-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

func chartNum(v float64) string {
	switch av := math.Abs(v); {
	case av == 0:
		return "0"
	case av >= 1e6 || av < 1e-3:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (s *svgWriter) header(title, xlabel, ylabel string) {
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	s.printf(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	s.printf(`<text x="%g" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", chartPadL, svgEsc(title))
	s.printf(`<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", chartPadL+(chartW-chartPadL-chartPadR)/2, chartH-10, svgEsc(xlabel))
	s.printf(`<text transform="translate(16 %g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", chartPadT+(chartH-chartPadT-chartPadB)/2, svgEsc(ylabel))
}

// yAxis draws horizontal grid lines with tick labels.
func (s *svgWriter) yAxis(y chartAxis) {
	for i, t := range y.ticks {
		py := y.pos(t)
		s.printf(`<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", chartPadL, py, chartW-chartPadR, py)
		s.printf(`<text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n", chartPadL-6, py+4, svgEsc(y.tickText[i]))
	}
	s.printf(`<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#333"/>`+"\n", chartPadL, chartPadT, chartPadL, chartH-chartPadB)
	s.printf(`<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#333"/>`+"\n", chartPadL, chartH-chartPadB, chartW-chartPadR, chartH-chartPadB)
}

func (s *svgWriter) refLines(y chartAxis, refs []RefLine) {
	var placed []float64 // label baselines already used
	for _, r := range refs {
		if y.log && r.Y <= 0 {
			continue
		}
		py := y.pos(r.Y)
		s.printf(`<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/>`+"\n", chartPadL, py, chartW-chartPadR, py)
		// Labels sit inside the plot, right-aligned above their line, and
		// step left when they would overlap an earlier one.
		x := chartW - chartPadR - 4
		for _, p := range placed {
			if math.Abs(p-py) < 13 {
				x -= 130
			}
		}
		placed = append(placed, py)
		s.printf(`<text x="%g" y="%.1f" fill="#c00" font-size="11" text-anchor="end">%s</text>`+"\n", x, py-3, svgEsc(r.Label))
	}
}

func (s *svgWriter) legend(series []Series) {
	for i, sr := range series {
		y := chartPadT + 20*float64(i) + 60
		s.printf(`<rect x="%g" y="%g" width="12" height="12" fill="%s"/>`+"\n", chartW-chartPadR+8, y-10, chartColour(i))
		s.printf(`<text x="%g" y="%g">%s</text>`+"\n", chartW-chartPadR+26, y, svgEsc(sr.Name))
	}
}

// drawable reports whether v can be placed on an axis (finite, and positive
// on a logarithmic one).
func drawable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

func svgEsc(s string) string { return html.EscapeString(s) }

func chartValues(series []Series, refs []RefLine) []float64 {
	var vs []float64
	for _, sr := range series {
		vs = append(vs, sr.Values...)
	}
	for _, r := range refs {
		vs = append(vs, r.Y)
	}
	return vs
}

// WriteSVG writes the chart as a standalone SVG document.
func (c BarChart) WriteSVG(w io.Writer) error {
	s := &svgWriter{w: bufio.NewWriter(w)}
	s.header(c.Title, c.XLabel, c.YLabel)
	y := newChartAxis(chartValues(c.Series, c.Ref), chartH-chartPadB, chartPadT, c.LogY, true)
	s.yAxis(y)
	groupW := (chartW - chartPadL - chartPadR) / float64(max(1, len(c.Categories)))
	barW := groupW * 0.8 / float64(max(1, len(c.Series)))
	base := chartH - chartPadB
	if c.LogY {
		base = y.p0
	}
	for gi, cat := range c.Categories {
		gx := chartPadL + groupW*float64(gi) + groupW*0.1
		s.printf(`<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", gx+groupW*0.4, chartH-chartPadB+16, svgEsc(cat))
		for si, sr := range c.Series {
			if gi >= len(sr.Values) || !drawable(sr.Values[gi], c.LogY) {
				continue
			}
			v := sr.Values[gi]
			top := y.pos(v)
			x := gx + barW*float64(si)
			s.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
				x, math.Min(top, base), barW*0.92, math.Abs(base-top), chartColour(si), svgEsc(sr.Name), svgEsc(cat), chartNum(v))
		}
	}
	s.refLines(y, c.Ref)
	s.legend(c.Series)
	return s.finish()
}

// WriteSVG writes the chart as a standalone SVG document.
func (c LineChart) WriteSVG(w io.Writer) error {
	s := &svgWriter{w: bufio.NewWriter(w)}
	s.header(c.Title, c.XLabel, c.YLabel)
	y := newChartAxis(chartValues(c.Series, c.Ref), chartH-chartPadB, chartPadT, c.LogY, true)
	x := newChartAxis(c.X, chartPadL+10, chartW-chartPadR-10, c.LogX, false)
	s.yAxis(y)
	every := (len(c.X) + maxXLabels - 1) / maxXLabels // label every n-th x
	for i, xv := range c.X {
		if !drawable(xv, c.LogX) || (i%every != 0 && i != len(c.X)-1) {
			continue
		}
		s.printf(`<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x.pos(xv), chartH-chartPadB+16, svgEsc(chartNum(xv)))
	}
	for si, sr := range c.Series {
		col := chartColour(si)
		path := ""
		for i, v := range sr.Values {
			if i >= len(c.X) || !drawable(v, c.LogY) || !drawable(c.X[i], c.LogX) {
				continue
			}
			px, py := x.pos(c.X[i]), y.pos(v)
			cmd := "L"
			if path == "" {
				cmd = "M"
			}
			path += fmt.Sprintf("%s%.1f %.1f ", cmd, px, py)
			if len(c.X) <= maxMarkers {
				s.printf(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s</title></circle>`+"\n", px, py, col, svgEsc(sr.Name), chartNum(v))
			}
		}
		if path != "" {
			s.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", path, col)
		}
	}
	s.refLines(y, c.Ref)
	s.legend(c.Series)
	return s.finish()
}
