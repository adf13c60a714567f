package versions

import (
	"fmt"
	"slices"
	"strings"
)

// maxDiffLines bounds the line-by-line comparison of one file (an LCS table
// of n×m cells); a bigger file is shown as replaced whole.
const maxDiffLines = 4000

// Diff is the unified diff (3 lines of context) from the files in a to the
// files in b, by name: "a/" and "b/" prefixes, /dev/null for a file added
// or removed, as git writes it. Empty when they are the same.
func Diff(a, b map[string]string) string {
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out strings.Builder
	for _, n := range names {
		old, inA := a[n]
		nw, inB := b[n]
		if inA && inB && old == nw {
			continue
		}
		from, to := "a/"+n, "b/"+n
		if !inA {
			from = "/dev/null"
		}
		if !inB {
			to = "/dev/null"
		}
		fmt.Fprintf(&out, "--- %s\n+++ %s\n", from, to)
		out.WriteString(unified(splitLines(old), splitLines(nw)))
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

type op struct {
	kind byte // ' ', '-', '+'
	line string
}

// edits is the shortest edit script from a to b (longest common
// subsequence).
func edits(a, b []string) []op {
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		var ops []op
		for _, l := range a {
			ops = append(ops, op{'-', l})
		}
		for _, l := range b {
			ops = append(ops, op{'+', l})
		}
		return ops
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, op{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, op{'+', b[j]})
	}
	return ops
}

// unified formats the edits of a to b as hunks with three lines of context.
func unified(a, b []string) string {
	const ctx = 3
	ops := edits(a, b)
	var out strings.Builder
	for start := 0; start < len(ops); {
		// Find the next change.
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		lo := max(0, start-ctx)
		// Extend the hunk while changes are within 2*ctx of each other.
		end := start
		for k := start; k < len(ops); k++ {
			if ops[k].kind != ' ' {
				end = k
			} else if k-end > 2*ctx {
				break
			}
		}
		hi := min(len(ops), end+ctx+1)
		// Line numbers of the hunk's first line in a and b.
		aLine, bLine := 1, 1
		for _, o := range ops[:lo] {
			if o.kind != '+' {
				aLine++
			}
			if o.kind != '-' {
				bLine++
			}
		}
		aN, bN := 0, 0
		for _, o := range ops[lo:hi] {
			if o.kind != '+' {
				aN++
			}
			if o.kind != '-' {
				bN++
			}
		}
		if aN == 0 {
			aLine--
		}
		if bN == 0 {
			bLine--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aLine, aN, bLine, bN)
		for _, o := range ops[lo:hi] {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			if !strings.HasSuffix(o.line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		start = hi
	}
	return out.String()
}
