package configfiles

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// DashboardsGlob is where dashboard files are looked up, in both layers: a
// file of --config.dir/dashboards replaces the embedded one of the same
// name, a new name adds a dashboard.
const DashboardsGlob = "dashboards/*.yml"

// loadDashboards reads the dashboards in force and links each to the
// alerting rules whose dashboard_url opens it. It runs after the rule files
// are known. A bad dashboard fails the load like a bad rule file: check
// config and a reload name its file and line.
func (l Loader) loadDashboards(s *Set) error {
	files, err := l.Sources.overlayGlob(l.Sources.EmbeddedDir, DashboardsGlob)
	if err != nil {
		return fmt.Errorf("load dashboards: %w", err)
	}
	var errs []error
	for _, f := range files {
		text, err := l.read(s, f.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("load dashboard %s: %w", f.Path, err))
			continue
		}
		d, err := dashboards.Parse(f.Path, []byte(text))
		if err != nil {
			errs = append(errs, fmt.Errorf("load dashboard: %w", err))
			continue
		}
		d.Origin = string(f.Origin)
		s.Dashboards = append(s.Dashboards, d)
		s.Files = append(s.Files, f)
	}
	if err := dashboards.Check(s.Dashboards); err != nil {
		errs = append(errs, fmt.Errorf("load dashboards: %w", err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.DashboardWarnings = linkAlerts(s.Dashboards, s.RuleFiles, l.Logger)
	return nil
}

// linkAlerts gives each dashboard the alerting rules whose dashboard_url
// opens it, so the console can draw the rule's expression against its
// threshold for an on-call who followed the link. It returns warnings for
// links that lead nowhere (no such dashboard, no such variable): worth
// fixing, not worth refusing a configuration over, since the alert itself
// still works.
func linkAlerts(ds []*dashboards.Dashboard, ruleFiles []string, logger *slog.Logger) []string {
	byUID := map[string]*dashboards.Dashboard{}
	for _, d := range ds {
		byUID[d.UID] = d
	}
	p := parser.NewParser(parser.Options{})
	var warnings []string
	for _, f := range ruleFiles {
		groups, ruleErrs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, logger)
		if len(ruleErrs) > 0 {
			continue // reported by the rule file's own load
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				uid, vars, ok := dashboards.LinkedUID(r.Annotations["dashboard_url"])
				if !ok {
					continue
				}
				d := byUID[uid]
				if d == nil {
					warnings = append(warnings, fmt.Sprintf("%s: rule %q: dashboard_url opens dashboard %q, which no dashboards/*.yml defines", f, r.Alert, uid))
					continue
				}
				for _, v := range vars {
					if !slices.ContainsFunc(d.Variables, func(dv dashboards.Variable) bool { return dv.Name == v }) {
						warnings = append(warnings, fmt.Sprintf("%s: rule %q: dashboard_url sets var-%s, which dashboard %q (%s) does not define", f, r.Alert, v, uid, d.File))
					}
				}
				if slices.ContainsFunc(d.Alerts, func(a dashboards.AlertRef) bool { return a.Name == r.Alert }) {
					continue
				}
				ref := dashboards.NewAlertRef(r.Alert, r.Expr)
				ref.Labels = r.Labels
				ref.Vars = vars
				if r.For != 0 {
					ref.For = r.For.String()
				}
				d.Alerts = append(d.Alerts, ref)
			}
		}
	}
	return warnings
}
