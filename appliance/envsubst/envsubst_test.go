package envsubst

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "EMPTY": "", "URL": "https://hooks.example/x"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	cases := []struct {
		name, in, want string
		missing        []string
		wantErr        bool
	}{
		{name: "plain", in: "a: b", want: "a: b"},
		{name: "var", in: "url: ${URL}", want: "url: https://hooks.example/x"},
		{name: "default used when unset", in: "${NOPE:-dflt}", want: "dflt"},
		{name: "default used when empty", in: "${EMPTY:-dflt}", want: "dflt"},
		{name: "empty default allowed", in: "x${NOPE:-}y", want: "xy"},
		{name: "missing reported once", in: "${NOPE} ${NOPE} ${A}", want: "  alpha", missing: []string{"NOPE"}},
		{name: "empty counts as missing", in: "${EMPTY}", want: "", missing: []string{"EMPTY"}},
		{name: "relabel refs untouched", in: "replacement: ${1}-$1-$A", want: "replacement: ${1}-$1-$A"},
		{name: "escape", in: "$${A}", want: "${A}"},
		{name: "unterminated", in: "x: ${A", wantErr: true},
		{name: "dollar at end", in: "cost $", want: "cost $"},
		{name: "nested default: first set", in: "u: ${URL:-${A}}", want: "u: https://hooks.example/x"},
		{name: "nested default: fallback", in: "u: ${NOPE:-${A}}!", want: "u: alpha!"},
		{name: "nested default: both unset", in: "u: ${NOPE:-${EMPTY}}", want: "u: ", missing: []string{"NOPE", "EMPTY"}},
		{name: "nested default with its own default", in: "${NOPE:-${NADA:-d}}", want: "d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Expand(c.in, lookup)
			if c.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, res.Text)
			require.Equal(t, c.missing, res.Missing)
		})
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${A}", "$${A}", "${A:-b}", "${", "${1}", "x$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := Expand(s, func(string) (string, bool) { return "", false })
		if err == nil && len(res.Text) > len(s) {
			t.Fatalf("expansion with no values grew the text: %q -> %q", s, res.Text)
		}
	})
}

func TestExpandYAML(t *testing.T) {
	env := map[string]string{"URL": "https://h.example/a#b", "PW": `p"a: ss #x`}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	in := "a: ${URL}\nb: \"pre-${PW}\"\nc: '${URL}'\nd: ${MISSING:-dflt}\ne: plain\n"
	out, dropped, err := ExpandYAML(in, lookup, nil)
	require.NoError(t, err)
	require.Empty(t, dropped)
	// Values are quoted so secrets with YAML syntax cannot change structure,
	// and the line count is unchanged.
	want := "a: \"https://h.example/a#b\"\nb: \"pre-p\\\"a: ss #x\"\nc: \"https://h.example/a#b\"\nd: \"dflt\"\ne: plain\n"
	require.Equal(t, want, out)

	_, _, err = ExpandYAML("x: 1\ny: ${NOPE}\n", lookup, nil)
	require.ErrorContains(t, err, "line 2: y: variable NOPE is not set")
}

func TestExpandYAMLDrop(t *testing.T) {
	in := "keep: 1\nlist:\n  - name: a\n    secret: ${NOPE}\n  - name: b\n    url: ${URL}\nafter: 2\n"
	lookup := func(n string) (string, bool) {
		if n == "URL" {
			return "http://x", true
		}
		return "", false
	}
	drop := func(_ *yaml.Node, refs []ScalarRef) []Dropped {
		var out []Dropped
		for _, r := range refs {
			if len(r.Missing) > 0 {
				out = append(out, Dropped{Path: r.Path[:2], Line: r.Line, Missing: r.Missing})
			}
		}
		return out
	}
	out, dropped, err := ExpandYAML(in, lookup, drop)
	require.NoError(t, err)
	require.Len(t, dropped, 1)
	require.Equal(t, []string{"list", "0"}, dropped[0].Path)
	require.Equal(t, "keep: 1\nlist:\n\n\n  - name: b\n    url: \"http://x\"\nafter: 2\n", out)
}

// FuzzExpandYAML: no input makes expansion panic, and a successful
// expansion keeps the line count (errors must keep pointing at lines).
func FuzzExpandYAML(f *testing.F) {
	for _, s := range []string{"a: ${A}\n", "- x: '${B:-y}'\n  z: \"${A}\"\n", "k: |\n  ${A}\n", "a: [${A}, b]\n", "a: ${A"} {
		f.Add(s)
	}
	lookup := func(n string) (string, bool) {
		if n == "A" {
			return "va: l #ue\nx", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, _, err := ExpandYAML(s, lookup, nil)
		if err != nil {
			return
		}
		if strings.Count(out, "\n") != strings.Count(s, "\n") {
			t.Fatalf("line count changed: %q -> %q", s, out)
		}
	})
}
