package routes

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// TeamLabel is the rule label the shipped route tree routes on (with
// severity): the alert's owning team.
const TeamLabel = "team"

// KnowsTeam reports whether some route of the tree matches team by a positive
// matcher on the label team (team="x", or team=~"..." that matches x). A team
// no route knows falls through to the catch-all route (platform).
func KnowsTeam(route *config.Route, team string) bool {
	if route == nil {
		return false
	}
	for _, m := range route.Matchers {
		if m.Name == TeamLabel && (m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp) && m.Matches(team) {
			return true
		}
	}
	return slices.ContainsFunc(route.Routes, func(r *config.Route) bool { return KnowsTeam(r, team) })
}

// UnknownTeams returns one warning per alerting rule of ruleFiles whose team
// label is missing or names a team no route knows (KnowsTeam): such an
// alert reaches only the catch-all receiver, which is rarely what its author
// meant. A team given by a template is not checked.
func UnknownTeams(route *config.Route, ruleFiles []string) ([]string, error) {
	var out []string
	err := AlertingRules(ruleFiles, func(file, group string, r rulefmt.Rule) {
		team, ok := r.Labels[TeamLabel]
		switch {
		case strings.Contains(team, "{{"):
		case !ok || team == "":
			out = append(out, fmt.Sprintf("rule %s (%s, group %s) has no team label: it goes to the catch-all route", r.Alert, file, group))
		case !KnowsTeam(route, team):
			out = append(out, fmt.Sprintf("rule %s (%s, group %s): no route knows team %q: it goes to the catch-all route", r.Alert, file, group, team))
		}
	})
	return out, err
}

// AlertingRules calls fn for every alerting rule of the rule files, in file,
// group and rule order (recording rules are skipped). A file that does not
// parse is reported in the error and skipped; the others are still read.
func AlertingRules(ruleFiles []string, fn func(file, group string, r rulefmt.Rule)) error {
	p := parser.NewParser(parser.Options{})
	logger := slog.New(slog.DiscardHandler)
	var errs []error
	for _, f := range ruleFiles {
		groups, ruleErrs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, logger)
		if len(ruleErrs) > 0 {
			errs = append(errs, ruleErrs...)
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					fn(f, g.Name, r)
				}
			}
		}
	}
	return errors.Join(errs...)
}
