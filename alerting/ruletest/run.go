package ruletest

import (
	"fmt"
	"io"

	"github.com/prometheus/prometheus/promql/parser"
)

// Run tests every file and reports like promtool: "Unit Testing: FILE" and
// "  SUCCESS" on stdout, "  FAILED:" with one block per failure on stderr. It
// returns false when any file failed.
func Run(stdout, stderr io.Writer, files ...string) bool {
	ok := true
	for _, f := range files {
		fmt.Fprintf(stdout, "Unit Testing: %s\n", f)
		warnings, errs := TestFile(f)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "  WARNING: %s\n", w)
		}
		if len(errs) > 0 {
			ok = false
			fmt.Fprintln(stderr, "  FAILED:")
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Error())
				fmt.Fprintln(stderr)
			}
		} else {
			fmt.Fprintln(stdout, "  SUCCESS")
		}
		fmt.Fprintln(stdout)
	}
	return ok
}

// TestFile runs every test group of one file. It returns the failures, nil
// when all expectations held, and warnings that do not fail the file.
func TestFile(path string) (warnings []string, errs []error) {
	f, warnings, err := Load(path)
	if err != nil {
		return warnings, []error{err}
	}
	// The default parser, as the appliance's rule manager uses: a rule that
	// passes here loads in the appliance.
	p := parser.NewParser(parser.Options{})
	order := make(map[string]int, len(f.GroupEvalOrder))
	for i, g := range f.GroupEvalOrder {
		order[g] = i
	}
	for i := range f.Tests {
		tg := &f.Tests[i]
		r := groupRun{
			tg:           tg,
			name:         tg.displayName(i),
			evalInterval: f.EvaluationInterval,
			groupOrder:   order,
			fuzzy:        f.FuzzyCompare,
			parser:       p,
			ruleFiles:    f.RuleFiles,
		}
		errs = append(errs, r.run()...)
	}
	return warnings, errs
}
