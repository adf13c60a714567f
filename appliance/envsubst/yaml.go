package envsubst

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Dropped is a YAML subtree removed because a variable it needs is unset.
type Dropped struct {
	Path    []string // e.g. ["receivers", "2", "slack_configs", "0"]
	Line    int      // first line of the subtree in the original text
	Missing []string
}

// ScalarRef is one scalar that referenced variables.
type ScalarRef struct {
	Path    []string
	Line    int
	Missing []string
}

// DropFunc decides, once every scalar's references are known, which subtrees
// to remove. It returns the paths to drop with the variables that caused it.
type DropFunc func(doc *yaml.Node, refs []ScalarRef) []Dropped

// ExpandYAML expands variable references inside the scalar values of a YAML
// document while keeping every line where it was, so that errors found later
// by a strict parser still point at the operator's file and line. Expanded
// values are written as double-quoted scalars, so a secret containing ": " or
// " #" cannot change the document's structure.
//
// drop, if not nil, chooses subtrees (such as one receiver integration whose
// secret is unset) to blank out. A variable without default that is missing
// anywhere else is an error naming its line.
func ExpandYAML(text string, lookup Lookup, drop DropFunc) (string, []Dropped, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return "", nil, err
	}
	if len(doc.Content) == 0 {
		return text, nil, nil
	}
	var refs []ScalarRef
	type repl struct {
		line, col int // 1-based
		node      *yaml.Node
		value     string
	}
	var repls []repl
	walk(doc.Content[0], nil, func(path []string, n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "${") {
			return
		}
		res, err := Expand(n.Value, lookup)
		if err != nil {
			res = Result{Text: n.Value}
		}
		if len(res.Used) == 0 && res.Text == n.Value {
			return
		}
		refs = append(refs, ScalarRef{Path: slices.Clone(path), Line: n.Line, Missing: res.Missing})
		repls = append(repls, repl{line: n.Line, col: n.Column, node: n, value: res.Text})
	})

	var dropped []Dropped
	if drop != nil {
		dropped = drop(doc.Content[0], refs)
	}
	lines := strings.SplitAfter(text, "\n")
	blank := make(map[int]bool) // 0-based line indexes
	for _, d := range dropped {
		n := lookupPath(doc.Content[0], d.Path)
		if n == nil {
			continue
		}
		first, last := span(n)
		// A mapping entry's key sits on the first line of its subtree; for a
		// list item the "- " does. Either way blanking whole lines is exact
		// as long as nothing else shares them, which block style guarantees.
		for l := first; l <= last; l++ {
			blank[l-1] = true
		}
	}
	for _, r := range refs {
		if blank[r.Line-1] || len(r.Missing) == 0 {
			continue
		}
		return "", nil, fmt.Errorf("line %d: %s: variable %s is not set and has no default", r.Line, strings.Join(r.Path, "."), strings.Join(r.Missing, ", "))
	}

	// Replace from the end so earlier columns stay valid.
	slices.SortFunc(repls, func(a, b repl) int {
		if a.line != b.line {
			return b.line - a.line
		}
		return b.col - a.col
	})
	for _, r := range repls {
		i := r.line - 1
		if blank[i] || i >= len(lines) {
			continue
		}
		out, err := replaceScalar(lines[i], r.col-1, r.node, r.value)
		if err != nil {
			return "", nil, fmt.Errorf("line %d: %w", r.line, err)
		}
		lines[i] = out
	}
	for i := range lines {
		if blank[i] {
			lines[i] = lineEnding(lines[i])
		}
	}
	return strings.Join(lines, ""), dropped, nil
}

func lineEnding(l string) string {
	if strings.HasSuffix(l, "\n") {
		return "\n"
	}
	return ""
}

// replaceScalar swaps the source text of a single-line scalar starting at
// byte column col for a double-quoted form of value.
func replaceScalar(line string, col int, n *yaml.Node, value string) (string, error) {
	col = byteOffset(line, col)
	if col < 0 || col > len(line) {
		return "", fmt.Errorf("cannot locate value %q", n.Value)
	}
	rest := line[col:]
	var end int
	switch n.Style {
	case 0, yaml.TaggedStyle:
		if !strings.HasPrefix(rest, n.Value) {
			return "", fmt.Errorf("variable references in multi-line plain values are not supported")
		}
		end = len(n.Value)
	case yaml.DoubleQuotedStyle:
		end = closingQuote(rest, '"')
	case yaml.SingleQuotedStyle:
		end = closingQuote(rest, '\'')
	default:
		return "", fmt.Errorf("variable references are supported in plain and quoted values only, not in block scalars")
	}
	if end < 0 {
		return "", fmt.Errorf("variable references in multi-line quoted values are not supported")
	}
	return line[:col] + strconv.Quote(value) + rest[end:], nil
}

// closingQuote returns the index just past the quote closing rest[0].
func closingQuote(rest string, q byte) int {
	for i := 1; i < len(rest); i++ {
		switch {
		case q == '"' && rest[i] == '\\':
			i++
		case rest[i] == q && q == '\'' && i+1 < len(rest) && rest[i+1] == '\'':
			i++
		case rest[i] == q:
			return i + 1
		}
	}
	return -1
}

// byteOffset converts a 0-based rune column into a byte offset.
func byteOffset(line string, runeCol int) int {
	n := 0
	for i := range line {
		if n == runeCol {
			return i
		}
		n++
	}
	if n == runeCol {
		return len(line)
	}
	return -1
}

func walk(n *yaml.Node, path []string, fn func([]string, *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], append(path, n.Content[i].Value), fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, append(path, strconv.Itoa(i)), fn)
		}
	case yaml.ScalarNode:
		fn(path, n)
	}
}

// Lookup of a path returns the node and, for mapping values, its key node.
func lookupPath(n *yaml.Node, path []string) *yaml.Node {
	cur := n
	var key *yaml.Node
	for _, p := range path {
		key = nil
		switch cur.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == p {
					key, next = cur.Content[i], cur.Content[i+1]
					break
				}
			}
			cur = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(cur.Content) {
				return nil
			}
			cur = cur.Content[i]
		default:
			return nil
		}
		if cur == nil {
			return nil
		}
	}
	if key != nil {
		// Span the key too, so a dropped "key: value" leaves no dangling key.
		return &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{key, cur}}
	}
	return cur
}

// span returns the first and last line a subtree occupies.
func span(n *yaml.Node) (first, last int) {
	first, last = n.Line, n.Line
	if n.Kind == yaml.SequenceNode && n.Line == 0 && len(n.Content) > 0 {
		first, last = n.Content[0].Line, n.Content[0].Line
	}
	var visit func(*yaml.Node)
	visit = func(c *yaml.Node) {
		if c.Line > 0 && c.Line < first {
			first = c.Line
		}
		end := c.Line
		if c.Kind == yaml.ScalarNode && (c.Style == yaml.LiteralStyle || c.Style == yaml.FoldedStyle) {
			end += strings.Count(strings.TrimRight(c.Value, "\n"), "\n") + 1
		}
		if end > last {
			last = end
		}
		for _, cc := range c.Content {
			visit(cc)
		}
	}
	visit(n)
	return first, last
}
