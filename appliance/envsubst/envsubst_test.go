package envsubst

import (
	"testing"

	"github.com/stretchr/testify/require"
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
