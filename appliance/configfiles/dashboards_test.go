package configfiles

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/configs"
	"github.com/smm-architect/smm-appliance/web/dashboards"
)

const customDashboard = `uid: team-x
title: Team X
variables:
  - name: job
    metric: up
panels:
  - title: Up
    type: stat
    expr: sum(up{job=~"$job"})
`

// TestDashboardDropIns: dashboards/ of --config.dir replaces an embedded
// dashboard of the same name and adds new ones; every shipped rule's
// dashboard_url links to a dashboard that exists, so the shipped set loads
// without warnings and each dashboard knows the alerts that open it.
func TestDashboardDropIns(t *testing.T) {
	emb := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, Materialize(configs.FS, emb))

	set, err := Loader{Sources: Sources{EmbeddedDir: emb}, Lookup: env(nil)}.Load()
	require.NoError(t, err)
	require.Len(t, set.Dashboards, 9)
	require.Empty(t, set.DashboardWarnings)
	linked := 0
	for _, d := range set.Dashboards {
		require.NotEmpty(t, d.Alerts, "no shipped rule links to %s", d.UID)
		linked += len(d.Alerts)
	}
	alerts := 0
	for _, f := range set.RuleFiles {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		alerts += len(regexp.MustCompile(`(?m)^\s*- alert: `).FindAll(b, -1))
	}
	require.Equal(t, alerts, linked, "every shipped alerting rule links to its dashboard")

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboards", "team-x.yml"), []byte(customDashboard), 0o644))
	// Replacing canary.yml with a dashboard of another uid leaves the
	// canary alerts linking nowhere: a warning, not a failed load.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboards", "canary.yml"), []byte("uid: my-canary\ntitle: Mine\npanels:\n  - title: x\n    type: table\n    expr: up\n"), 0o644))
	set, err = Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
	require.NoError(t, err)
	byFile := map[string]*dashboards.Dashboard{}
	for _, d := range set.Dashboards {
		byFile[filepath.Base(d.File)] = d
	}
	require.Equal(t, "added", byFile["team-x.yml"].Origin)
	require.Equal(t, "overridden", byFile["canary.yml"].Origin)
	require.Equal(t, "my-canary", byFile["canary.yml"].UID)
	require.Equal(t, "embedded", byFile["budget.yml"].Origin)
	require.Len(t, set.Dashboards, 10)
	origins := map[string]Origin{}
	for _, f := range set.Files {
		origins[f.Name] = f.Origin
	}
	require.Equal(t, Added, origins["dashboards/team-x.yml"])
	require.Equal(t, Overridden, origins["dashboards/canary.yml"])
	require.Equal(t, Embedded, origins["dashboards/agents.yml"])
	require.Len(t, set.DashboardWarnings, 4, "the four canary rules")
	require.Contains(t, set.DashboardWarnings[0], `opens dashboard "smm-canary", which no dashboards/*.yml defines`)

	// A link setting a variable the dashboard lacks is a warning too.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "mine.yml"), []byte(`groups:
  - name: mine
    rules:
      - alert: Mine
        expr: vector(1) > 0
        annotations:
          dashboard_url: "{{ $externalURL }}/#/dashboards/team-x?var-job={{ $labels.job }}&var-nope=1&alert=Mine"
`), 0o644))
	set, err = Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
	require.NoError(t, err)
	require.Len(t, set.DashboardWarnings, 5)
	require.Contains(t, set.DashboardWarnings[4], `rule "Mine": dashboard_url sets var-nope, which dashboard "team-x"`)
	for _, d := range set.Dashboards {
		if d.UID == "team-x" {
			require.Len(t, d.Alerts, 1)
			require.Equal(t, "vector(1)", d.Alerts[0].Query)
		}
	}
}

// TestDashboardErrors: a bad dashboard fails the load with its file and
// line, like a bad rule file; the embedded ones are unaffected.
func TestDashboardErrors(t *testing.T) {
	emb := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, Materialize(configs.FS, emb))
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"bad promql", "x.yml", "uid: x\ntitle: X\npanels:\n  - title: Rate\n    type: timeseries\n    expr: rate(up[5m]\n", `x.yml:6: panel "Rate": .*unclosed left parenthesis`},
		{"unknown variable", "x.yml", "uid: x\ntitle: X\npanels:\n  - title: Up\n    type: stat\n    expr: up{job=~\"$job\"}\n", `x.yml:6: panel "Up": \$job is not a variable`},
		{"duplicate uid", "mine.yml", "uid: smm-budget\ntitle: X\npanels:\n  - title: Up\n    type: stat\n    expr: up\n", `mine.yml:1: uid "smm-budget" already used by .*budget.yml:4`},
		{"unknown field", "x.yml", "uid: x\ntitle: X\npannels: []\n", `x.yml: yaml: unmarshal errors:\n  line 3: field pannels not found`},
		{"bad type", "x.yml", "uid: x\ntitle: X\npanels:\n  - title: Up\n    type: pie\n    expr: up\n", `x.yml:6: panel "Up": type "pie"`},
		{"bad variable metric", "x.yml", "uid: x\ntitle: X\nvariables:\n  - name: job\n    metric: 'up{'\npanels:\n  - title: Up\n    type: stat\n    expr: up\n", `x.yml:4: variable "job": metric "up{"`},
		{"falling thresholds", "x.yml", "uid: x\ntitle: X\npanels:\n  - title: Up\n    type: stat\n    expr: up\n    thresholds: [{color: green}, {value: 5, color: red}, {value: 1, color: yellow}]\n", `x.yml:6: panel "Up": thresholds must rise`},
		{"bad colour", "x.yml", "uid: x\ntitle: X\npanels:\n  - title: Up\n    type: stat\n    expr: up\n    thresholds: [{color: pink}]\n", `x.yml:6: panel "Up": threshold color "pink"`},
		{"bad uid", "x.yml", "uid: X Y\ntitle: X\npanels:\n  - title: Up\n    type: stat\n    expr: up\n", `x.yml:1: uid "X Y"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboards", tc.file), []byte(tc.text), 0o644))
			_, err := Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
			require.Error(t, err)
			require.Regexp(t, regexp.MustCompile(regexp.QuoteMeta(filepath.Join(dir, "dashboards"))+"/"+tc.want), err.Error())
		})
	}
}
