package ruletest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

// groupRun evaluates the rule files against one test group's series.
type groupRun struct {
	tg           *TestGroup
	name         string
	evalInterval model.Duration
	groupOrder   map[string]int
	fuzzy        bool
	parser       parser.Parser
	ruleFiles    []string
}

// run loads the series and rules, evaluates the rules every evaluation
// interval from the group's start up to its last eval_time, checks the alerts
// at each eval_time and finally the PromQL expressions.
func (r *groupRun) run() (errs []error) {
	tg := r.tg
	suite, err := promqltest.NewLazyLoader(r.loadCommand(), promqltest.LazyLoaderOpts{
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		StartTime:            r.start(),
		Parser:               r.parser,
	})
	if err != nil {
		return []error{r.errorf("load input_series: %w", err)}
	}
	defer func() {
		if err := suite.Close(); err != nil {
			errs = append(errs, r.errorf("close test storage: %w", err))
		}
	}()
	evalInterval := time.Duration(r.evalInterval)
	// Subqueries without a step use the evaluation interval, as in Prometheus.
	suite.SubqueryInterval = evalInterval

	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
		Parser:       r.parser,
	})
	groupsByKey, loadErrs := m.LoadGroups(time.Duration(tg.Interval), tg.ExternalLabels, tg.ExternalURL, nil, false, r.ruleFiles...)
	if len(loadErrs) > 0 {
		return loadErrs
	}
	groups := r.ordered(groupsByKey)
	for _, g := range groups {
		for _, rule := range g.Rules() {
			if ar, ok := rule.(*rules.AlertingRule); ok {
				// Without restored state an alerting rule does not write
				// ALERTS and ALERTS_FOR_STATE; a test starts "after" restore.
				ar.SetRestored(true)
			}
		}
	}

	checks, err := r.alertChecksByTime()
	if err != nil {
		return []error{err}
	}
	evalTimes := make([]model.Duration, 0, len(checks))
	for t := range checks {
		evalTimes = append(evalTimes, t)
	}
	slices.Sort(evalTimes)

	start := r.start()
	end := start.Add(tg.maxEvalTime())
	next := 0 // index into evalTimes of the next check
	for ts := start; !ts.After(end); ts = ts.Add(evalInterval) {
		var evalErrs []error
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				evalErrs = append(evalErrs, r.errorf("append samples till %s: %w", ts.Sub(start), err))
				return
			}
			for _, g := range groups {
				g.Eval(suite.Context(), ts)
				for _, rule := range g.Rules() {
					if err := rule.LastError(); err != nil {
						evalErrs = append(evalErrs, r.errorf("rule: %s, time: %s, err: %w", rule.Name(), ts.Sub(start), err))
					}
				}
			}
		})
		// An evaluation error makes every later check meaningless.
		if len(evalErrs) > 0 {
			return append(errs, evalErrs...)
		}
		// An eval_time between two evaluations is checked against the
		// earlier one: ts <= eval_time < ts+interval.
		for next < len(evalTimes) && time.Duration(evalTimes[next]) < ts.Add(evalInterval).Sub(start) {
			t := evalTimes[next]
			got := firingAlerts(groups, checks[t])
			for _, c := range checks[t] {
				if err := compareAlerts(c, got[c.Alertname]); err != nil {
					errs = append(errs, r.errorf("alertname: %s, time: %s,\n%w", c.Alertname, c.EvalTime, err))
				}
			}
			next++
		}
	}

	for _, pt := range tg.PromQLExprTests {
		if err := r.checkExpr(suite, pt); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// loadCommand is the input series as a promqltest "load" command.
func (r *groupRun) loadCommand() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %s\n", r.tg.Interval)
	for _, s := range r.tg.InputSeries {
		fmt.Fprintf(&b, "  %s %s\n", s.Series, s.Values)
	}
	return b.String()
}

func (r *groupRun) start() time.Time { return r.tg.start() }

// ordered returns the rule groups in group_eval_order. Groups the order does
// not name rank as its first entry, as in promtool; ties are broken by rule
// file and group name so that a run is reproducible.
func (r *groupRun) ordered(byKey map[string]*rules.Group) []*rules.Group {
	groups := make([]*rules.Group, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, g)
	}
	fileIndex := func(g *rules.Group) int { return slices.Index(r.ruleFiles, g.File()) }
	slices.SortFunc(groups, func(a, b *rules.Group) int {
		return cmp.Or(
			cmp.Compare(r.groupOrder[a.Name()], r.groupOrder[b.Name()]),
			cmp.Compare(fileIndex(a), fileIndex(b)),
			strings.Compare(a.Name(), b.Name()),
		)
	})
	return groups
}

// alertChecksByTime groups the alert_rule_test items by eval_time.
func (r *groupRun) alertChecksByTime() (map[model.Duration][]AlertTest, error) {
	out := map[model.Duration][]AlertTest{}
	for _, a := range r.tg.AlertRuleTests {
		if a.Alertname == "" {
			return nil, r.errorf("%w at eval_time %s", errNoAlertname, a.EvalTime)
		}
		out[a.EvalTime] = append(out[a.EvalTime], a)
	}
	return out, nil
}

// errorf prefixes a failure with the test group's name, indented as promtool
// does, so failures of several groups can be told apart.
func (r *groupRun) errorf(format string, args ...any) error {
	return fmt.Errorf("    name: %s,\n    "+format, append([]any{r.name}, args...)...)
}

// firingAlerts collects the firing alerts of the checked names across all
// groups: one name may be defined in several groups.
func firingAlerts(groups []*rules.Group, checks []AlertTest) map[string][]alertInstance {
	names := map[string]bool{}
	for _, c := range checks {
		names[c.Alertname] = true
	}
	got := map[string][]alertInstance{}
	for _, g := range groups {
		for _, rule := range g.Rules() {
			ar, ok := rule.(*rules.AlertingRule)
			if !ok || !names[ar.Name()] {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got[ar.Name()] = append(got[ar.Name()], alertInstance{Labels: a.Labels.Copy(), Annotations: a.Annotations.Copy()})
				}
			}
		}
	}
	return got
}
