package configs

import (
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // business hours in a named zone, whatever the host has

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/routing.golden.yml from the current alertmanager.yml")

const routingGolden = "testdata/routing.golden.yml"

// loadAlertmanager expands the embedded alertmanager.yml with env and parses it
// with Alertmanager's own loader.
func loadAlertmanager(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	b, err := fs.ReadFile(FS, "alertmanager.yml")
	require.NoError(t, err)
	cfg, err := config.Load(expandEnv(t, string(b), env))
	require.NoError(t, err)
	return cfg
}

// routeCase is one alert pushed through the route tree, as stored in the
// golden file.
type routeCase struct {
	Name      string            `yaml:"name"`
	Labels    map[string]string `yaml:"labels"`
	Receivers []string          `yaml:"receivers"`
	// BusinessHoursOnly are the receivers reached through a route that is
	// active in business hours only.
	BusinessHoursOnly []string `yaml:"business_hours_only,omitempty"`
}

// expectedReceivers derives from the spec who gets an alert: critical pages
// on-call, goes to the Teams mirror and to Slack and e-mail of each listed
// team; warning goes to Slack and e-mail of each listed team, e-mail in
// business hours only. ciso has no Slack channel.
func expectedReceivers(severity string, teams []string) (all, businessHoursOnly []string) {
	if severity == "critical" {
		all = append(all, "pagerduty-oncall", "msteams-mirror")
	}
	for _, team := range teams {
		if teamChannels[team].slack != "" {
			all = append(all, team+"-slack")
		}
		all = append(all, team+"-email")
		if severity == "warning" {
			businessHoursOnly = append(businessHoursOnly, team+"-email")
		}
	}
	slices.Sort(all)
	slices.Sort(businessHoursOnly)
	return all, businessHoursOnly
}

// teamRouting is alertmanager.yml's TEAM ROUTING table, written out again:
// the teams that receive an alert of a severity and team. A team not listed
// goes to platform. teamRoutingFor applies the table's per-service and
// per-alert rows.
var teamRouting = map[string]map[string][]string{
	"critical": {
		"platform": {"platform"}, "connector": {"connector", "platform"}, "agent": {"agent", "platform"},
		"ml": {"ml", "platform"}, "finance": {"finance", "platform"}, "database": {"database", "platform"},
		"security": {"security", "ciso"}, "business": {"business"},
	},
	"warning": {
		"platform": {"platform"}, "connector": {"connector", "platform"}, "agent": {"agent", "platform"},
		"ml": {"ml"}, "finance": {"finance", "platform"}, "database": {"database", "platform"},
		"security": {"security", "ciso"}, "business": {"business"},
	},
}

func teamRoutingFor(labels map[string]string) []string {
	sev, team := labels["severity"], labels["team"]
	if sev == "warning" && team == "ml" && (labels["service"] == "smm-simulation" || labels["alertname"] == "SMM_CanaryTrafficAnomalies") {
		return []string{"ml", "platform"}
	}
	if teams, ok := teamRouting[sev][team]; ok {
		return teams
	}
	return []string{"platform"}
}

// routingCases are the alerts of the shipped rules with the labels the rules
// set, plus synthetic alerts for each team and the special routes.
func routingCases(t *testing.T) []routeCase {
	t.Helper()
	var cases []routeCase
	for _, r := range loadRules(t) {
		l := map[string]string{"alertname": r.rule.Alert}
		for k, v := range r.rule.Labels {
			l[k] = strings.ReplaceAll(v, "{{ $labels.job }}", "smm-budget")
			require.NotContains(t, l[k], "{{", "%s: label %s: unexpected template", r.rule.Alert, k)
		}
		cases = append(cases, routeCase{Name: r.rule.Alert, Labels: l})
	}
	teams := slices.Sorted(maps.Keys(teamChannels))
	for _, sev := range []string{"critical", "warning"} {
		for _, team := range teams {
			cases = append(cases, routeCase{
				Name:   "team " + team + " " + sev,
				Labels: map[string]string{"alertname": "Synthetic", "severity": sev, "team": team, "service": "custom"},
			})
		}
	}
	// A rule written the seed's way: severity, team and service only (issue 16).
	cases = append(cases,
		routeCase{Name: "new connector rule", Labels: map[string]string{
			"alertname": "SMM_ConnectorCustom", "severity": "warning", "team": "connector", "service": "smm-connectors",
		}},
		routeCase{Name: "new simulation rule", Labels: map[string]string{
			"alertname": "SMM_SimulationCustom", "severity": "warning", "team": "ml", "service": "smm-simulation",
		}},
		routeCase{Name: "unknown team critical", Labels: map[string]string{"alertname": "Custom", "severity": "critical", "team": "marketing"}},
		routeCase{Name: "unknown team warning", Labels: map[string]string{"alertname": "Custom", "severity": "warning", "team": "marketing"}},
	)
	cases = append(cases,
		routeCase{Name: "escalated critical", Labels: map[string]string{
			"alertname": "SMM_ConnectorDown", "severity": "critical", "team": "connector", "escalated": "true",
		}},
		routeCase{Name: "critical without team", Labels: map[string]string{"alertname": "Custom", "severity": "critical"}},
		routeCase{Name: "warning without team", Labels: map[string]string{"alertname": "Custom", "severity": "warning"}},
		routeCase{Name: "other severity", Labels: map[string]string{"alertname": "Custom", "severity": "info", "team": "finance"}},
	)
	return cases
}

// match pushes labels through the route tree.
func match(t *testing.T, root *dispatch.Route, labels map[string]string) (receivers, businessHoursOnly []string, routes []*dispatch.Route) {
	t.Helper()
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	routes = root.Match(ls)
	for _, r := range routes {
		require.NotContains(t, receivers, r.RouteOpts.Receiver, "receiver reached twice for %v", labels)
		receivers = append(receivers, r.RouteOpts.Receiver)
		if slices.Contains(r.RouteOpts.ActiveTimeIntervals, "business-hours") {
			businessHoursOnly = append(businessHoursOnly, r.RouteOpts.Receiver)
		}
	}
	slices.Sort(receivers)
	slices.Sort(businessHoursOnly)
	return receivers, businessHoursOnly, routes
}

func TestRouting(t *testing.T) {
	cfg := loadAlertmanager(t, testEnv)
	root := dispatch.NewRoute(cfg.Route, nil)
	pagers := map[string]bool{}
	for _, r := range cfg.Receivers {
		pagers[r.Name] = len(r.PagerdutyConfigs) > 0
	}
	specByName := map[string]specAlert{}
	for _, a := range allAlerts() {
		specByName[a.name] = a
	}

	cases := routingCases(t)
	for i := range cases {
		c := &cases[i]
		t.Run(c.Name, func(t *testing.T) {
			var routes []*dispatch.Route
			c.Receivers, c.BusinessHoursOnly, routes = match(t, root, c.Labels)

			sev := c.Labels["severity"]
			switch {
			case c.Labels["escalated"] == "true":
				require.Equal(t, []string{"escalation"}, c.Receivers)
			case c.Labels["alertname"] == "Watchdog":
				require.Equal(t, []string{"watchdog"}, c.Receivers)
			case sev == "critical" || sev == "warning":
				teams := teamRoutingFor(c.Labels)
				if a, ok := specByName[c.Name]; ok {
					require.ElementsMatch(t, a.teams, teams, "team routing against the spec")
				}
				want, wantBH := expectedReceivers(sev, teams)
				require.Equal(t, want, c.Receivers)
				require.Equal(t, wantBH, c.BusinessHoursOnly)
			}

			for _, r := range routes {
				if sev != "critical" {
					require.False(t, pagers[r.RouteOpts.Receiver], "%s (%s) reaches PagerDuty receiver %s", c.Name, sev, r.RouteOpts.Receiver)
				}
				if sev == "critical" && c.Labels["escalated"] != "true" {
					require.Empty(t, r.RouteOpts.ActiveTimeIntervals, "criticals ignore business hours")
					require.Equal(t, 5*time.Second, r.RouteOpts.GroupWait)
					require.Equal(t, time.Minute, r.RouteOpts.GroupInterval)
					require.Equal(t, time.Hour, r.RouteOpts.RepeatInterval)
				}
				if sev == "warning" {
					require.Equal(t, 10*time.Second, r.RouteOpts.GroupWait)
					require.Equal(t, 5*time.Minute, r.RouteOpts.GroupInterval)
					require.Equal(t, 4*time.Hour, r.RouteOpts.RepeatInterval)
					if strings.HasSuffix(r.RouteOpts.Receiver, "-email") {
						require.Equal(t, []string{"business-hours"}, r.RouteOpts.ActiveTimeIntervals)
					}
				}
				// One notification per alert kind, service and team: a storm is
				// one message per receiver, not one per object.
				require.Equal(t, map[model.LabelName]struct{}{"alertname": {}, "service": {}, "team": {}}, r.RouteOpts.GroupBy)
			}
		})
	}

	if *update {
		b, err := yaml.Marshal(cases)
		require.NoError(t, err)
		header := "# Generated by `go test ./configs/ -run TestRouting -update`: who receives each alert.\n"
		require.NoError(t, os.WriteFile(routingGolden, append([]byte(header), b...), 0o644))
	}
	b, err := os.ReadFile(routingGolden)
	require.NoError(t, err, "run `go test ./configs/ -run TestRouting -update` to create it")
	var golden []routeCase
	require.NoError(t, yaml.Unmarshal(b, &golden))
	require.Equal(t, golden, cases, "routing changed; review and run with -update")
}

func TestAmtoolCheckConfig(t *testing.T) {
	amtool := findTool(t, "amtool", "AMTOOL")
	dir := materialize(t, testEnv)
	out := runTool(t, dir, amtool, "check-config", filepath.Join(dir, "alertmanager.yml"))
	require.Contains(t, out, "SUCCESS")
}

func TestBusinessHours(t *testing.T) {
	day := func(d int, hh, mm int, loc *time.Location) time.Time {
		return time.Date(2026, time.November, d, hh, mm, 0, 0, loc)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	require.Equal(t, time.Tuesday, day(24, 0, 0, time.UTC).Weekday())

	cases := []struct {
		name string
		tz   string // SMM_TIMEZONE; "" leaves the default (UTC)
		at   time.Time
		want bool
	}{
		{"tuesday 10:00", "", day(24, 10, 0, time.UTC), true},
		{"tuesday 09:00 opens", "", day(24, 9, 0, time.UTC), true},
		{"tuesday 08:59", "", day(24, 8, 59, time.UTC), false},
		{"tuesday 17:59", "", day(24, 17, 59, time.UTC), true},
		{"tuesday 18:00 closes", "", day(24, 18, 0, time.UTC), false},
		{"tuesday 20:00", "", day(24, 20, 0, time.UTC), false},
		{"monday 09:30", "", day(23, 9, 30, time.UTC), true},
		{"friday 17:30", "", day(27, 17, 30, time.UTC), true},
		{"saturday 10:00", "", day(28, 10, 0, time.UTC), false},
		{"sunday 10:00", "", day(29, 10, 0, time.UTC), false},
		{"berlin tuesday 10:00 local", "Europe/Berlin", day(24, 10, 0, berlin), true},
		{"berlin tuesday 08:30 UTC is 09:30 local", "Europe/Berlin", day(24, 8, 30, time.UTC), true},
		{"berlin tuesday 17:30 UTC is 18:30 local", "Europe/Berlin", day(24, 17, 30, time.UTC), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := maps.Clone(testEnv)
			if c.tz != "" {
				env["SMM_TIMEZONE"] = c.tz
			}
			cfg := loadAlertmanager(t, env)
			intervals := map[string][]timeinterval.TimeInterval{}
			for _, ti := range cfg.TimeIntervals {
				intervals[ti.Name] = ti.TimeIntervals
			}
			require.Contains(t, intervals, "business-hours")
			got, err := timeinterval.NewIntervener(intervals).ContainsTime([]string{"business-hours"}, c.at)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// TestReceivers checks each receiver's integrations against the spec's
// channel table and the Slack message requirements.
func TestReceivers(t *testing.T) {
	cfg := loadAlertmanager(t, testEnv)
	byName := map[string]config.Receiver{}
	for _, r := range cfg.Receivers {
		byName[r.Name] = r
	}
	require.Nil(t, cfg.Global.SlackAPIURL, "no global Slack webhook: each item names its own secret")
	require.Equal(t, testEnv["SMTP_SMARTHOST"], cfg.Global.SMTPSmarthost.String())
	require.Equal(t, testEnv["SMTP_FROM"], cfg.Global.SMTPFrom)
	require.Equal(t, []string{"templates/*.tmpl"}, cfg.Templates)

	for team, ch := range teamChannels {
		t.Run(team, func(t *testing.T) {
			email, ok := byName[team+"-email"]
			require.True(t, ok)
			require.Len(t, email.EmailConfigs, 1)
			require.Equal(t, ch.email, email.EmailConfigs[0].To)
			require.True(t, email.EmailConfigs[0].SendResolved())
			require.Contains(t, email.EmailConfigs[0].HTML, `template "smm.email.html"`)
			require.Contains(t, email.EmailConfigs[0].Text, `template "smm.email.text"`)

			slack, ok := byName[team+"-slack"]
			if ch.slack == "" {
				require.False(t, ok, "%s has no Slack channel", team)
				return
			}
			require.True(t, ok)
			// Two alternatives for the team's channel (the appliance keeps the
			// first whose secret is set): the bot token, threading resolutions,
			// then the team's webhook, else the shared one.
			require.Len(t, slack.SlackConfigs, 2)
			bot, hook := slack.SlackConfigs[0], slack.SlackConfigs[1]
			require.Equal(t, testEnv["SLACK_BOT_TOKEN"], string(bot.AppToken))
			require.Equal(t, "https://slack.com/api/chat.postMessage", bot.APIURL.String())
			require.True(t, bot.PostUpdatesToThread)
			require.Equal(t, "Bearer", bot.HTTPConfig.Authorization.Type)
			require.Equal(t, testEnv["SLACK_WEBHOOK_URL"], hook.APIURL.String())
			require.Empty(t, hook.AppToken)
			require.False(t, hook.PostUpdatesToThread, "a webhook cannot thread")
			for _, sc := range slack.SlackConfigs {
				require.Equal(t, ch.slack, sc.Channel)
				require.Equal(t, "SMM Monitor", sc.Username)
				require.True(t, sc.SendResolved())
				require.True(t, sc.HTTPConfig.ProxyFromEnvironment)
				require.Contains(t, sc.Title, `template "smm.slack.title"`)
				require.Contains(t, sc.Color, `template "smm.slack.color"`)
				require.Contains(t, sc.Text, `template "smm.slack.text"`)
				var links []string
				for _, a := range sc.Actions {
					links = append(links, a.Text+" "+a.URL)
				}
				// Silence is a link in the text while firing (a resolved
				// message offers none), not a button.
				require.Equal(t, []string{
					`Runbook {{ template "smm.runbook_url" . }}`,
					`Dashboard {{ template "smm.dashboard_url" . }}`,
				}, links)
			}
		})
	}

	pd := byName["pagerduty-oncall"]
	require.Len(t, pd.PagerdutyConfigs, 1)
	require.Equal(t, testEnv["PAGERDUTY_INTEGRATION_KEY"], string(pd.PagerdutyConfigs[0].RoutingKey))
	for _, k := range []string{"service", "environment", "team", "summary"} {
		require.Contains(t, pd.PagerdutyConfigs[0].Details, k)
	}

	teams := byName["msteams-mirror"]
	require.Len(t, teams.MSTeamsV2Configs, 1)
	require.Equal(t, testEnv["TEAMS_WEBHOOK_URL"], teams.MSTeamsV2Configs[0].WebhookURL.String())

	esc := byName["escalation"]
	require.Len(t, esc.EmailConfigs, 1)
	require.Equal(t, "engineering-manager@smm-architect.com", esc.EmailConfigs[0].To)
	require.Len(t, esc.PagerdutyConfigs, 1)
	require.Equal(t, testEnv["PAGERDUTY_INTEGRATION_KEY"], string(esc.PagerdutyConfigs[0].RoutingKey))

	// The escalation route comes first and stops there.
	first := cfg.Route.Routes[0]
	require.Equal(t, "escalation", first.Receiver)
	require.Len(t, first.Matchers, 1)
	require.Equal(t, `escalated="true"`, first.Matchers[0].String())
	require.False(t, first.Continue)
}

// TestSecretReferences checks that secrets come from the environment only and
// that every variable without default sits where the appliance can drop the
// integration that needs it (a receivers[].*_configs[] item, or a global key
// the appliance knows), so that a missing secret disables one channel.
func TestSecretReferences(t *testing.T) {
	b, err := fs.ReadFile(FS, "alertmanager.yml")
	require.NoError(t, err)
	require.Equal(t, map[string]bool{
		"SLACK_BOT_TOKEN":             false,
		"SLACK_WEBHOOK_URL":           false,
		"SLACK_WEBHOOK_URL_PLATFORM":  true,
		"SLACK_WEBHOOK_URL_CONNECTOR": true,
		"SLACK_WEBHOOK_URL_AGENT":     true,
		"SLACK_WEBHOOK_URL_ML":        true,
		"SLACK_WEBHOOK_URL_FINANCE":   true,
		"SLACK_WEBHOOK_URL_DATABASE":  true,
		"SLACK_WEBHOOK_URL_SECURITY":  true,
		"SLACK_WEBHOOK_URL_BUSINESS":  true,
		"PAGERDUTY_INTEGRATION_KEY":   false,
		"PAGERDUTY_URL":               true,
		"SMTP_SMARTHOST":              false,
		"SMTP_FROM":                   false,
		"SMTP_USERNAME":               true,
		"SMTP_PASSWORD":               true,
		"TEAMS_WEBHOOK_URL":           false,
		"WATCHDOG_WEBHOOK_URL":        false,
		"SMM_TIMEZONE":                true,
	}, referencedVars(string(b)))

	droppableGlobals := []string{"smtp_smarthost", "smtp_from"}
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], append(slices.Clone(path), n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, append(slices.Clone(path), strconv.Itoa(i)))
			}
		case yaml.ScalarNode:
			for name, hasDefault := range referencedVars(n.Value) {
				if hasDefault {
					continue
				}
				where := strings.Join(path, ".")
				inItem := len(path) >= 4 && path[0] == "receivers" && strings.HasSuffix(path[2], "_configs")
				inGlobal := len(path) == 2 && path[0] == "global" && slices.Contains(droppableGlobals, path[1])
				require.True(t, inItem || inGlobal, "%s at %s cannot be dropped by the appliance", name, where)
				// The whole value, or the fallback of a per-team variable.
				require.Regexp(t, `^(\$\{[A-Z_]+:-)?\$\{`+name+`\}(\})?$`, n.Value, "%s: a secret is the whole value", where)
			}
		}
	}
	walk(doc.Content[0], nil)

	for _, f := range []string{"alertmanager.yml", "prometheus.yml"} {
		b, err := fs.ReadFile(FS, f)
		require.NoError(t, err)
		for _, leak := range []string{"hooks.slack.com", "outlook.office.com", "events.pagerduty.com/integration"} {
			require.NotContains(t, string(b), leak, "%s carries a literal secret or endpoint", f)
		}
	}
}
