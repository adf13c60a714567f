package configs

import (
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// shippedRule is one alerting rule of the embedded rule files.
type shippedRule struct {
	file, group string
	rule        rulefmt.Rule
}

// loadRules parses every embedded rule file with Prometheus' own parser.
func loadRules(t *testing.T) []shippedRule {
	t.Helper()
	files, err := fs.Glob(FS, "rules/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	p := parser.NewParser(parser.Options{})
	var out []shippedRule
	for _, f := range files {
		b, err := fs.ReadFile(FS, f)
		require.NoError(t, err)
		groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		require.Empty(t, errs, f)
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				require.NotEmpty(t, r.Alert, "%s: group %s: only alerting rules are shipped", f, g.Name)
				out = append(out, shippedRule{file: f, group: g.Name, rule: r})
			}
		}
	}
	return out
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := findTool(t, "promtool", "PROMTOOL")
	files, err := filepath.Glob("rules/*.yml")
	require.NoError(t, err)
	runTool(t, ".", promtool, append([]string{"check", "rules"}, files...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := findTool(t, "promtool", "PROMTOOL")
	files, err := filepath.Glob("rules/tests/*_test.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	runTool(t, ".", promtool, append([]string{"test", "rules"}, files...)...)
}

// TestPromtoolCheckConfig checks prometheus.yml as the appliance hands it over
// (expanded), together with the rule and target files it refers to.
func TestPromtoolCheckConfig(t *testing.T) {
	promtool := findTool(t, "promtool", "PROMTOOL")
	dir := materialize(t, testEnv)
	out := runTool(t, dir, promtool, "check", "config", "prometheus.yml")
	require.Contains(t, out, "SUCCESS: 9 rule files found")
}

// TestRulesMatchSpec holds the shipped rules to the spec's alert table: the
// same alerts, severities and teams, and every required label and annotation.
func TestRulesMatchSpec(t *testing.T) {
	rules := loadRules(t)
	byName := map[string]shippedRule{}
	for _, r := range rules {
		_, dup := byName[r.rule.Alert]
		require.False(t, dup, "alert %s is defined twice", r.rule.Alert)
		byName[r.rule.Alert] = r
	}
	var want []string
	for _, a := range allAlerts() {
		want = append(want, a.name)
	}
	require.ElementsMatch(t, want, slices.Collect(maps.Keys(byName)), "shipped alerts differ from the spec")

	for _, a := range allAlerts() {
		t.Run(a.name, func(t *testing.T) {
			r := byName[a.name]
			l, ann := r.rule.Labels, r.rule.Annotations
			require.Equal(t, a.severity, l["severity"])
			require.Equal(t, a.team, l["team"])
			require.NotContains(t, l, "teams", "routing keys on team; the teams label is gone")
			require.Contains(t, a.teams, l["team"], "team must be one of the receiving teams")
			require.Equal(t, a.service, l["service"])
			require.Equal(t, a.category, l["category"])
			require.Equal(t, "smm_"+a.category, r.group, "rule group")
			for _, team := range a.teams {
				require.Contains(t, teamChannels, team)
			}

			require.ElementsMatch(t, []string{"summary", "description", "runbook_url", "dashboard_url"}, slices.Collect(maps.Keys(ann)))
			require.Equal(t, "https://wiki.smm-architect.com/runbooks/"+a.name, ann["runbook_url"])
			// The appliance's own dashboard for the category, through the
			// external URL, opened on the alert's panel.
			require.True(t, strings.HasPrefix(ann["dashboard_url"], "{{ $externalURL }}/#/dashboards/smm-"+a.category+"?"), "dashboard_url %q", ann["dashboard_url"])
			require.True(t, strings.HasSuffix(ann["dashboard_url"], "alert="+a.name), "dashboard_url %q", ann["dashboard_url"])
			require.Contains(t, ann["description"], "$value", "the description shows the offending value")
			require.NotContains(t, r.rule.Expr+ann["summary"]+ann["description"]+ann["dashboard_url"], "${",
				"the appliance expands ${...} in config files; rule text must not contain it")
		})
	}
}

// ruleTestFile is the part of a promtool unit-test file the coverage check reads.
type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name           string `yaml:"name"`
		AlertRuleTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertHasRuleTests asserts that each rule file has its test file and
// each alert a case where it fires (with every label and annotation spelled
// out) and one where it stays silent.
func TestEveryAlertHasRuleTests(t *testing.T) {
	rules := loadRules(t)
	firing, silent := map[string]int{}, map[string]int{}
	tested := map[string]bool{}

	files, err := filepath.Glob("rules/tests/*.yml")
	require.NoError(t, err)
	for _, f := range files {
		require.True(t, strings.HasSuffix(f, "_test.yml"), "%s: test files are named <rules>_test.yml", f)
		var tf ruleTestFile
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, yaml.Unmarshal(b, &tf), f)
		wantRules := "../" + strings.TrimSuffix(filepath.Base(f), "_test.yml") + ".yml"
		require.Equal(t, []string{wantRules}, tf.RuleFiles, f)
		tested[path.Join("rules", path.Base(wantRules))] = true
		for _, tc := range tf.Tests {
			for _, art := range tc.AlertRuleTests {
				if len(art.ExpAlerts) == 0 {
					silent[art.Alertname]++
					continue
				}
				firing[art.Alertname]++
				for _, exp := range art.ExpAlerts {
					for _, k := range []string{"severity", "team", "service", "category"} {
						require.Contains(t, exp.ExpLabels, k, "%s: %s", f, tc.Name)
					}
					require.Len(t, exp.ExpAnnotations, 4, "%s: %s: all four annotations are checked", f, tc.Name)
				}
			}
		}
	}

	for _, r := range rules {
		require.True(t, tested[r.file], "%s has no rules/tests/ file", r.file)
		name := r.rule.Alert
		require.Positive(t, firing[name], "%s: no unit test where it fires", name)
		if name != "Watchdog" { // always fires
			require.Positive(t, silent[name], "%s: no unit test where it stays silent", name)
		}
	}
	defined := map[string]bool{}
	for _, r := range rules {
		defined[r.rule.Alert] = true
	}
	for name := range firing {
		require.True(t, defined[name], "tests name the alert %s that does not exist", name)
	}
}

// TestEmbeddedFiles pins what the appliance gets from FS.
func TestEmbeddedFiles(t *testing.T) {
	var files []string
	require.NoError(t, fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	for _, want := range []string{"prometheus.yml", "alertmanager.yml", "rules/connectors.yml", "rules/appliance.yml", "targets/vault.yml", "templates/slack.tmpl"} {
		require.Contains(t, files, want)
	}
	for _, f := range files {
		require.NotContains(t, f, "tests/", "rule unit tests are not embedded")
		require.NotEqual(t, ".go", path.Ext(f))
	}
}

// TestTargetFiles checks the demo file_sd files: one per scrape job, each
// pointing at the simulator's port for that job.
func TestTargetFiles(t *testing.T) {
	ports := map[string]string{
		"smm-connectors": "9101", "smm-agents": "9102", "smm-budget": "9103", "smm-simulation": "9104",
		"smm-canary": "9105", "smm-api": "9106", "smm-publisher": "9107", "postgres": "9108",
		"redis": "9109", "vault": "9110", "node": "9111",
	}
	b, err := fs.ReadFile(FS, "prometheus.yml")
	require.NoError(t, err)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			FileSDConfigs []struct {
				Files []string `yaml:"files"`
			} `yaml:"file_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	var jobs []string
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
		require.Len(t, sc.FileSDConfigs, 1, sc.JobName)
		// The job's own file, and the drop-ins targets/<job>-*.yml.
		require.Equal(t, []string{"targets/" + sc.JobName + ".yml", "targets/" + sc.JobName + "-*.yml"}, sc.FileSDConfigs[0].Files)

		tb, err := fs.ReadFile(FS, "targets/"+sc.JobName+".yml")
		require.NoError(t, err)
		var groups []struct {
			Targets []string `yaml:"targets"`
		}
		require.NoError(t, yaml.Unmarshal(tb, &groups))
		require.Equal(t, []string{"127.0.0.1:" + ports[sc.JobName]}, groups[0].Targets, sc.JobName)
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(ports)), jobs)
	require.NotContains(t, jobs, "smm-appliance", "the appliance adds its own job in code")
}
