// Package envsubst expands ${VAR} references in configuration text, following
// the -config.expand-env convention of Loki and Mimir, so that secrets live in
// the environment and never in the shipped files.
//
// Only the brace form is expanded: ${NAME} and ${NAME:-default}. NAME must
// start with a letter or underscore, so Prometheus' relabelling references such
// as ${1} or $1 pass through untouched. "$${" escapes a literal "${".
package envsubst

import (
	"fmt"
	"slices"
	"strings"
)

// Lookup returns the value of a variable and whether it is set.
type Lookup func(name string) (string, bool)

// Trimmed returns lookup with trailing whitespace cut from every value, as
// Alertmanager 0.35 does for secrets read from *_file: a secret written to
// an environment file or a mounted secret often ends in a newline, which
// would make a URL invalid and put the secret, quoted, into the error.
func Trimmed(lookup Lookup) Lookup {
	return func(name string) (string, bool) {
		v, ok := lookup(name)
		return strings.TrimRight(v, " \t\r\n\v\f"), ok
	}
}

// Result is the expanded text and the variables it referred to.
type Result struct {
	Text string
	// Missing lists variables referenced without a default that are unset or
	// empty, in order of first use, without duplicates.
	Missing []string
	// Used lists every variable referenced, in order of first use.
	Used []string
}

// Expand replaces the variable references in s. An unset or empty variable
// without a default expands to the empty string and is reported in Missing.
func Expand(s string, lookup Lookup) (Result, error) {
	var (
		b   strings.Builder
		res Result
	)
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := closingBrace(s[i+2:])
		body := ""
		if end >= 0 {
			body = s[i+2 : i+2+end]
		}
		name, def, hasDef := strings.Cut(body, ":-")
		if end < 0 || !validName(name) {
			// Not ours (e.g. ${1} in a relabel replacement): copy verbatim.
			if end < 0 && validName(strings.TrimSpace(s[i+2:min(len(s), i+2+64)])) {
				return Result{}, fmt.Errorf("unterminated variable reference at offset %d", i)
			}
			b.WriteString("${")
			i += 2
			continue
		}
		if !slices.Contains(res.Used, name) {
			res.Used = append(res.Used, name)
		}
		v, ok := lookup(name)
		switch {
		case ok && v != "":
			b.WriteString(v)
		case hasDef && strings.Contains(def, "${"):
			// A default that is itself a reference: ${A:-${B}} is A, else B.
			inner, err := Expand(def, lookup)
			if err != nil {
				return Result{}, err
			}
			b.WriteString(inner.Text)
			res.Used = appendNew(res.Used, inner.Used...)
			if len(inner.Missing) > 0 {
				res.Missing = appendNew(res.Missing, name)
				res.Missing = appendNew(res.Missing, inner.Missing...)
			}
		case hasDef:
			b.WriteString(def)
		default:
			if !slices.Contains(res.Missing, name) {
				res.Missing = append(res.Missing, name)
			}
		}
		i += 2 + end + 1
	}
	res.Text = b.String()
	return res, nil
}

// closingBrace is the index in s of the "}" that closes a reference whose
// "${" precedes s, skipping the references nested in its default; -1 if none.
func closingBrace(s string) int {
	depth := 1
	for j := 0; j < len(s); j++ {
		switch {
		case strings.HasPrefix(s[j:], "${"):
			depth++
			j++
		case s[j] == '}':
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

func appendNew(s []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}
