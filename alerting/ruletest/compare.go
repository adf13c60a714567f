package ruletest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// alertInstance is a firing alert as compared: labels and annotations.
type alertInstance struct {
	Labels      labels.Labels
	Annotations labels.Labels
}

func compareAlertInstances(a, b alertInstance) int {
	if c := labels.Compare(a.Labels, b.Labels); c != 0 {
		return c
	}
	return labels.Compare(a.Annotations, b.Annotations)
}

// compareAlerts checks the firing alerts of one name against a test's
// expectation: the same number, and each with exactly the expected labels
// (alertname implied) and annotations.
func compareAlerts(test AlertTest, got []alertInstance) error {
	exp := make([]alertInstance, 0, len(test.ExpAlerts))
	for _, a := range test.ExpAlerts {
		lb := labels.NewBuilder(labels.FromMap(a.ExpLabels))
		lb.Set(labels.AlertName, test.Alertname)
		exp = append(exp, alertInstance{Labels: lb.Labels(), Annotations: labels.FromMap(a.ExpAnnotations)})
	}
	slices.SortFunc(exp, compareAlertInstances)
	slices.SortFunc(got, compareAlertInstances)
	if slices.EqualFunc(exp, got, func(a, b alertInstance) bool { return compareAlertInstances(a, b) == 0 }) {
		return nil
	}

	var b strings.Builder
	fmt.Fprintf(&b, "        expected %d firing alert(s), got %d\n", len(exp), len(got))
	// Alerts that differ only in some labels or annotations are paired by
	// position: then say which fields differ, the usual mistake.
	if len(exp) == len(got) {
		for i := range exp {
			if d := fieldDiff(exp[i], got[i]); len(d) > 0 {
				fmt.Fprintf(&b, "        differences in alert %d:\n", i)
				for _, l := range d {
					fmt.Fprintf(&b, "          %s\n", l)
				}
			}
		}
	}
	fmt.Fprintf(&b, "        exp:%s\n", formatAlerts(exp))
	fmt.Fprintf(&b, "        got:%s", formatAlerts(got))
	return errors.New(b.String())
}

// fieldDiff lists the labels and annotations whose values differ.
func fieldDiff(exp, got alertInstance) []string {
	var out []string
	diff := func(kind string, e, g labels.Labels) {
		em, gm := e.Map(), g.Map()
		var keys []string
		for k := range em {
			keys = append(keys, k)
		}
		for k := range gm {
			if _, ok := em[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			ev, eok := em[k]
			gv, gok := gm[k]
			switch {
			case !gok:
				out = append(out, fmt.Sprintf("%s %s: expected %q, missing", kind, k, ev))
			case !eok:
				out = append(out, fmt.Sprintf("%s %s: not expected, got %q", kind, k, gv))
			case ev != gv:
				out = append(out, fmt.Sprintf("%s %s: expected %q, got %q", kind, k, ev, gv))
			}
		}
	}
	diff("label", exp.Labels, got.Labels)
	diff("annotation", exp.Annotations, got.Annotations)
	return out
}

func formatAlerts(as []alertInstance) string {
	if len(as) == 0 {
		return " []"
	}
	var b strings.Builder
	for i, a := range as {
		fmt.Fprintf(&b, "\n          %d: labels: %s\n             annotations: %s", i, a.Labels, a.Annotations)
	}
	return b.String()
}

// sample is a query result or expected sample as compared.
type sample struct {
	Labels    labels.Labels
	Value     float64
	Histogram string // promqltest's notation of a histogram value
}

func (s sample) String() string {
	if s.Histogram != "" {
		return s.Labels.String() + " " + s.Histogram
	}
	return s.Labels.String() + " " + strconv.FormatFloat(s.Value, 'E', -1, 64)
}

// checkExpr runs one promql_expr_test as an instant query at its eval_time.
func (r *groupRun) checkExpr(suite *promqltest.LazyLoader, pt PromQLTest) error {
	fail := func(format string, args ...any) error {
		return r.errorf("expr: %q, time: %s, "+format, append([]any{pt.Expr, pt.EvalTime}, args...)...)
	}
	got, err := r.query(suite, pt.Expr, r.start().Add(time.Duration(pt.EvalTime)))
	if err != nil {
		return fail("err: %w", err)
	}
	var exp []sample
	for _, s := range pt.ExpSamples {
		lset, err := r.parser.ParseMetric(s.Labels)
		if err != nil {
			return fail("err: labels %q: %w", s.Labels, err)
		}
		es := sample{Labels: lset, Value: s.Value}
		if s.Histogram != "" {
			_, vals, err := r.parser.ParseSeriesDesc("{} " + s.Histogram)
			switch {
			case err != nil:
			case len(vals) != 1 || vals[0].Histogram == nil:
				err = errors.New("expected one histogram value")
			}
			if err != nil {
				return fail("err: histogram %q: %w", s.Histogram, err)
			}
			es.Histogram = promqltest.HistogramTestExpression(vals[0].Histogram)
		}
		exp = append(exp, es)
	}
	byLabels := func(a, b sample) int { return labels.Compare(a.Labels, b.Labels) }
	slices.SortFunc(exp, byLabels)
	slices.SortFunc(got, byLabels)
	equal := slices.EqualFunc(exp, got, func(a, b sample) bool {
		return labels.Equal(a.Labels, b.Labels) && a.Histogram == b.Histogram && r.floatEqual(a.Value, b.Value)
	})
	if equal {
		return nil
	}
	return fail("\n        exp: %s\n        got: %s", formatSamples(exp), formatSamples(got))
}

// floatEqual compares exactly, or with fuzzy_compare within one ULP, as
// promtool does.
func (r *groupRun) floatEqual(a, b float64) bool {
	if a == b {
		return true
	}
	return r.fuzzy && (math.Nextafter(a, math.Inf(-1)) == b || math.Nextafter(a, math.Inf(1)) == b)
}

// query runs an instant query; a scalar result counts as one sample without
// labels.
func (r *groupRun) query(suite *promqltest.LazyLoader, expr string, ts time.Time) ([]sample, error) {
	q, err := suite.QueryEngine().NewInstantQuery(suite.Context(), suite.Queryable(), nil, expr, ts)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(suite.Context())
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make([]sample, 0, len(v))
		for _, s := range v {
			out = append(out, sample{Labels: s.Metric.Copy(), Value: s.F, Histogram: histogramString(s.H)})
		}
		return out, nil
	case promql.Scalar:
		return []sample{{Labels: labels.EmptyLabels(), Value: v.V}}, nil
	default:
		return nil, fmt.Errorf("result is a %s, not a vector or scalar", res.Value.Type())
	}
}

func histogramString(h *histogram.FloatHistogram) string {
	if h == nil {
		return ""
	}
	return promqltest.HistogramTestExpression(h)
}

func formatSamples(ss []sample) string {
	if len(ss) == 0 {
		return "nil"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, ", ")
}
