package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// ErrNotSVG: a document is not well-formed XML with an <svg> root.
var ErrNotSVG = errors.New("chart: not an SVG document")

// CheckSVG reports whether doc is well-formed XML whose root element is
// <svg> (what a browser needs to show a chart), for tests of the writers.
func CheckSVG(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotSVG, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		return fmt.Errorf("%w: root element %q", ErrNotSVG, root)
	}
	return nil
}
