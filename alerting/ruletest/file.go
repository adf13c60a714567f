// Package ruletest runs rule unit tests written in promtool's `test rules`
// format, so that operators can test their rules with the appliance binary
// alone and the same files keep passing upstream `promtool test rules`.
//
// Series are loaded with promqltest's LazyLoader and the rule files with the
// rules package's Manager, as promtool does, so evaluation semantics (staleness,
// `for`, templates, restored alert state) are Prometheus' own.
package ruletest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"go.yaml.in/yaml/v2"
)

// File is one unit test file.
type File struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval,omitempty"`
	GroupEvalOrder     []string       `yaml:"group_eval_order"`
	Tests              []TestGroup    `yaml:"tests"`
	FuzzyCompare       bool           `yaml:"fuzzy_compare,omitempty"`
}

// TestGroup is a set of input series and the expectations checked against
// them.
type TestGroup struct {
	Name            string          `yaml:"name,omitempty"`
	Interval        model.Duration  `yaml:"interval"`
	InputSeries     []Series        `yaml:"input_series"`
	AlertRuleTests  []AlertTest     `yaml:"alert_rule_test,omitempty"`
	PromQLExprTests []PromQLTest    `yaml:"promql_expr_test,omitempty"`
	ExternalLabels  labels.Labels   `yaml:"external_labels,omitempty"`
	ExternalURL     string          `yaml:"external_url,omitempty"`
	StartTimestamp  *StartTimestamp `yaml:"start_timestamp,omitempty"`
}

// Series is one input series in promqltest's expanding notation, e.g.
// values: "1+1x10 stale".
type Series struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// AlertTest lists the alerts of one name expected to be firing at EvalTime.
type AlertTest struct {
	EvalTime  model.Duration  `yaml:"eval_time"`
	Alertname string          `yaml:"alertname"`
	ExpAlerts []ExpectedAlert `yaml:"exp_alerts"`
}

// ExpectedAlert is one firing alert; alertname is implied.
type ExpectedAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// PromQLTest is an instant query and the samples it must return.
type PromQLTest struct {
	Expr       string           `yaml:"expr"`
	EvalTime   model.Duration   `yaml:"eval_time"`
	ExpSamples []ExpectedSample `yaml:"exp_samples"`
}

// ExpectedSample is one sample of a PromQLTest. A non-empty Histogram (in
// series notation, e.g. "{{schema:0 count:1 sum:2}}") replaces Value.
type ExpectedSample struct {
	Labels    string  `yaml:"labels"`
	Value     float64 `yaml:"value"`
	Histogram string  `yaml:"histogram"`
}

// StartTimestamp is when a test group's time 0 is: an RFC 3339 time or Unix
// seconds. Unset, it is the Unix epoch.
type StartTimestamp struct{ time.Time }

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StartTimestamp) UnmarshalYAML(unmarshal func(any) error) error {
	var v string
	if err := unmarshal(&v); err != nil {
		return err
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		sec, frac := math.Modf(f)
		s.Time = time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC()
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("start_timestamp %q: neither RFC 3339 nor Unix seconds", v)
	}
	s.Time = t
	return nil
}

// Load reads a test file strictly (unknown fields are errors, as in promtool),
// applies the defaults and resolves rule_files against the file's directory.
// Patterns that match nothing are returned as warnings.
func Load(path string) (f *File, warnings []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f = &File{}
	if err := yaml.UnmarshalStrict(b, f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.EvaluationInterval == 0 {
		f.EvaluationInterval = model.Duration(time.Minute)
	}
	if f.EvaluationInterval < 0 {
		return nil, nil, fmt.Errorf("%s: evaluation_interval must be positive", path)
	}
	seen := map[string]bool{}
	for _, g := range f.GroupEvalOrder {
		if seen[g] {
			return nil, nil, fmt.Errorf("%s: group name repeated in group_eval_order: %s", path, g)
		}
		seen[g] = true
	}
	for i := range f.Tests {
		if f.Tests[i].Interval == 0 {
			f.Tests[i].Interval = f.EvaluationInterval
		}
		if f.Tests[i].Interval < 0 {
			return nil, nil, fmt.Errorf("%s: test %s: interval must be positive", path, f.Tests[i].displayName(i))
		}
	}

	var files []string
	dir := filepath.Dir(path)
	for _, pat := range f.RuleFiles {
		if pat != "" && !filepath.IsAbs(pat) {
			pat = filepath.Join(dir, pat)
		}
		m, err := filepath.Glob(pat)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: rule_files %q: %w", path, pat, err)
		}
		if len(m) == 0 {
			warnings = append(warnings, fmt.Sprintf("no file match pattern %s", pat))
		}
		files = append(files, m...)
	}
	f.RuleFiles = files
	return f, warnings, nil
}

// errNoAlertname answers an alert_rule_test item without alertname: without
// it nothing can be compared, and promtool rejects it too.
var errNoAlertname = errors.New("an item under alert_rule_test misses required attribute alertname")

// displayName is the test group's name, or its position when unnamed.
func (tg *TestGroup) displayName(i int) string {
	if tg.Name != "" {
		return tg.Name
	}
	return fmt.Sprintf("unnamed#%d", i)
}

// start is the time the group's series begin.
func (tg *TestGroup) start() time.Time {
	if tg.StartTimestamp == nil || tg.StartTimestamp.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return tg.StartTimestamp.Time
}

// maxEvalTime is the latest eval_time of the group's checks.
func (tg *TestGroup) maxEvalTime() time.Duration {
	var m model.Duration
	for _, a := range tg.AlertRuleTests {
		m = max(m, a.EvalTime)
	}
	for _, p := range tg.PromQLExprTests {
		m = max(m, p.EvalTime)
	}
	return time.Duration(m)
}
