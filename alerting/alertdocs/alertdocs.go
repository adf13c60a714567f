// Package alertdocs generates the Markdown reference of the alerts the
// appliance ships: every alerting rule with its condition, severity, teams,
// runbook, and the receivers it reaches through the Alertmanager route tree.
// Generated from the configuration itself, the reference cannot drift from it.
package alertdocs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/smm-architect/smm-appliance/alerting/routes"
)

// Alert is one alerting rule as documented.
type Alert struct {
	Group         string
	Name          string
	Expr          string
	For           model.Duration
	KeepFiringFor model.Duration
	Labels        map[string]string
	Annotations   map[string]string
	// Destinations are the routes the alert's labels reach, in tree order.
	Destinations []routes.Destination
}

// Collect reads the alerting rules of the rule files, in file, group and rule
// order, and routes each one's labels (alertname and the rule's labels)
// through tree. Recording rules are skipped.
func Collect(ruleFiles []string, tree *routes.Tree) ([]Alert, error) {
	var out []Alert
	err := routes.AlertingRules(ruleFiles, func(_, group string, r rulefmt.Rule) {
		ls := model.LabelSet{model.AlertNameLabel: model.LabelValue(r.Alert)}
		for k, v := range r.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		out = append(out, Alert{
			Group:         group,
			Name:          r.Alert,
			Expr:          r.Expr,
			For:           r.For,
			KeepFiringFor: r.KeepFiringFor,
			Labels:        r.Labels,
			Annotations:   r.Annotations,
			Destinations:  tree.Match(ls),
		})
	})
	return out, err
}

// Teams returns the owning team (label team) first, then the other teams
// whose receivers (<team>-slack, <team>-email) the alert reaches, sorted:
// alertmanager.yml's team routing decides them, not a rule label.
func (a Alert) Teams() []string {
	var out []string
	if t := a.Labels["team"]; t != "" {
		out = append(out, t)
	}
	var rest []string
	for _, d := range a.Destinations {
		t, ok := strings.CutSuffix(d.Receiver, "-slack")
		if !ok {
			t, ok = strings.CutSuffix(d.Receiver, "-email")
		}
		if ok && !slices.Contains(out, t) && !slices.Contains(rest, t) {
			rest = append(rest, t)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// forColumn is the rule's for (and keep_firing_for) duration.
func (a Alert) forColumn() string {
	s := "0s"
	if a.For != 0 {
		s = a.For.String()
	}
	if a.KeepFiringFor != 0 {
		s += fmt.Sprintf(" (keeps firing %s)", a.KeepFiringFor)
	}
	return s
}
