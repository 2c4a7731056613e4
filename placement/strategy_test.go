package placement

import (
	"errors"
	"testing"
)

func TestSpecRoundTrip(t *testing.T) {
	for _, text := range []string{"ring/v1024", "ring/v1", "bounded/v128/c1.25/p16", "bounded/v64/c1.05/p22"} {
		s, err := parseSpec(text)
		if err != nil || s.String() != text {
			t.Fatalf("%q: %+v %v", text, s, err)
		}
	}
	for _, bad := range []string{"", "ring", "ring/v0", "ring/1024", "bounded/v128/c1/p16", "bounded/v128/c1.25/p23",
		"bounded/v128/cNaN/p16", "jump/v1", "ring/v1024/x", "bounded/v128/c1.25"} {
		if _, err := parseSpec(bad); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("%q parsed: %v", bad, err)
		}
	}
}

// Every node that sees the same members chooses the same spec: the
// majority's, ties to the smaller text; invalid specs never win.
func TestClusterSpec(t *testing.T) {
	m := func(spec string) memberInfo { return memberInfo{strategy: spec} }
	cases := []struct {
		alive []memberInfo
		own   string
		want  string
	}{
		{[]memberInfo{m("ring/v128"), m("ring/v128"), m("bounded/v128/c1.25/p16")}, "bounded/v128/c1.25/p16", "ring/v128"},
		{[]memberInfo{m("ring/v128"), m("bounded/v128/c1.25/p16")}, "ring/v128", "bounded/v128/c1.25/p16"},
		{[]memberInfo{m("ring/v128"), m("bounded/v128/c1.25/p16")}, "bounded/v128/c1.25/p16", "bounded/v128/c1.25/p16"},
		{[]memberInfo{m(""), m(""), m("ring/v64")}, "ring/v128", "ring/v128"},
		{[]memberInfo{m("evil"), m("evil"), m("evil"), m("ring/v128")}, "ring/v128", "ring/v128"},
		{nil, "ring/v128", "ring/v128"},
	}
	for i, c := range cases {
		if got := clusterSpec(c.alive, c.own); got != c.want {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
}
