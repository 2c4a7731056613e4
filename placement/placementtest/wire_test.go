package placementtest

import (
	"errors"
	"testing"
)

// The wire refuses exactly the cut pairs, both ways, until heal.
func TestWireCut(t *testing.T) {
	w := newWire()
	w.cut([]string{"a"}, []string{"b", "c"})
	for _, p := range [][2]string{{"a", "b"}, {"b", "a"}, {"c", "a"}} {
		if err := w.check(p[0], p[1]); !errors.Is(err, ErrCut) {
			t.Errorf("%s -> %s passes the cut: %v", p[0], p[1], err)
		}
	}
	if err := w.check("b", "c"); err != nil {
		t.Errorf("b -> c: %v", err)
	}
	w.heal()
	if err := w.check("a", "b"); err != nil {
		t.Errorf("after heal: %v", err)
	}
}
