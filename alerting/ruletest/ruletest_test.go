package ruletest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testdataCases are the files in testdata and what a run of each says.
var testdataCases = []struct {
	file string
	// wantErrs are substrings of the failure report; none for a passing file.
	wantErrs []string
}{
	{file: "testdata/pass.good.yml"},
	{file: "testdata/wrong_label.bad.yml", wantErrs: []string{
		"name: InstanceDown with the wrong severity",
		"alertname: InstanceDown, time: 3m",
		`label severity: expected "warning", got "critical"`,
	}},
	{file: "testdata/bad_rule_file.bad.yml", wantErrs: []string{
		`testdata/rules/broken.yml: 5:15: group "broken", rule 1, "Unbalanced": could not parse expression`,
	}},
}

func TestTestFile(t *testing.T) {
	for _, tc := range testdataCases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			warnings, errs := TestFile(tc.file)
			require.Empty(t, warnings)
			if len(tc.wantErrs) == 0 {
				require.Empty(t, errs)
				return
			}
			require.NotEmpty(t, errs)
			report := errors.Join(errs...).Error()
			for _, want := range tc.wantErrs {
				require.Contains(t, report, want)
			}
		})
	}
}

func TestRunReport(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.True(t, Run(&stdout, &stderr, "testdata/pass.good.yml"))
	require.Equal(t, "Unit Testing: testdata/pass.good.yml\n  SUCCESS\n\n", stdout.String())
	require.Empty(t, stderr.String())

	stdout.Reset()
	require.False(t, Run(&stdout, &stderr, "testdata/pass.good.yml", "testdata/wrong_label.bad.yml"))
	require.Equal(t, "Unit Testing: testdata/pass.good.yml\n  SUCCESS\n\nUnit Testing: testdata/wrong_label.bad.yml\n\n", stdout.String())
	require.Contains(t, stderr.String(), "  FAILED:\n    name: InstanceDown with the wrong severity,\n")
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ text, want string }{
		"unknown field":    {"rule_files: []\ntests:\n  - intervall: 1m\n", "field intervall not found"},
		"repeated group":   {"group_eval_order: [a, a]\n", "group name repeated in group_eval_order: a"},
		"no alertname":     {"tests:\n  - alert_rule_test:\n      - eval_time: 1m\n", "misses required attribute alertname at eval_time 1m"},
		"bad series":       {"tests:\n  - input_series:\n      - series: 'up{'\n        values: '1'\n", "load input_series"},
		"bad start":        {"tests:\n  - start_timestamp: yesterday\n", "start_timestamp \"yesterday\""},
		"missing file":     {"rule_files: [nothere.yml]\ntests: []\n", ""},
		"expr wrong value": {"tests:\n  - input_series:\n      - series: 'up'\n        values: '1'\n    promql_expr_test:\n      - expr: up\n        eval_time: 0m\n        exp_samples:\n          - labels: 'up'\n            value: 2\n", "exp: {__name__=\"up\"} 2E+00"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".yml")
			require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o644))
			warnings, errs := TestFile(path)
			if tc.want == "" {
				require.Empty(t, errs)
				require.Equal(t, []string{"no file match pattern " + filepath.Join(dir, "nothere.yml")}, warnings)
				return
			}
			require.NotEmpty(t, errs)
			require.Contains(t, errors.Join(errs...).Error(), tc.want)
		})
	}
}

func TestStartTimestamp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "start.yml")
	// At start_timestamp + 0 the @ modifier sees the sample at that wall time.
	text := `tests:
  - start_timestamp: "1700000000"
    input_series:
      - series: 'up'
        values: '5'
    promql_expr_test:
      - expr: timestamp(up)
        eval_time: 0m
        exp_samples:
          - labels: '{}'
            value: 1700000000
`
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	_, errs := TestFile(path)
	require.Empty(t, errs)
}

// TestShippedRuleTests runs the unit tests of the SMM rules (the same files
// `promtool test rules` passes in ./configs).
func TestShippedRuleTests(t *testing.T) {
	files, err := filepath.Glob("../../configs/rules/tests/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			warnings, errs := TestFile(f)
			require.Empty(t, warnings)
			require.Empty(t, errs, "%v", errors.Join(errs...))
		})
	}
}

// TestSameOutcomeAsPromtool runs upstream promtool over testdata, when it is
// available (env PROMTOOL, or bin/tools/promtool from `make tools`), and
// requires the same pass or fail per file.
func TestSameOutcomeAsPromtool(t *testing.T) {
	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		promtool = filepath.Join("..", "..", "bin", "tools", "promtool")
		if _, err := os.Stat(promtool); err != nil {
			t.Skip("promtool not available: set PROMTOOL or run `make tools`")
		}
	}
	for _, tc := range testdataCases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			out, err := exec.Command(promtool, "test", "rules", tc.file).CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("run promtool: %v", err)
			}
			_, errs := TestFile(tc.file)
			require.Equal(t, err == nil, len(errs) == 0, "promtool:\n%s\nours: %v", out, errors.Join(errs...))
		})
	}
}
