package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promtemplate "github.com/prometheus/prometheus/template"
	"github.com/stretchr/testify/require"
)

// dashboardDef is a dashboard as GET /api/v1/appliance/dashboards/<uid> serves it.
type dashboardDef struct {
	UID       string `json:"uid"`
	Title     string `json:"title"`
	Variables []struct {
		Name string `json:"name"`
	} `json:"variables"`
	Panels []struct {
		Title string `json:"title"`
		Expr  string `json:"expr"`
	} `json:"panels"`
	Alerts []struct {
		Name  string `json:"name"`
		Query string `json:"query"`
	} `json:"alerts"`
}

// TestDashboards: one appliance and one simulator on free ports, the shipped
// rules and dashboards. (1) The Grafana export of `smm-appliance dashboards
// export` parses and every one of its queries and variables returns data.
// (2) Chromium renders each dashboard with every panel showing data (no
// empty, no error panel), screenshot in artifacts/ui/dashboard-<uid>.png.
// (3) Every shipped rule's dashboard_url, expanded with an alert's labels —
// by the appliance itself for the alerts active now, with Prometheus'
// template expander and labels from the rule's own series for the others —
// opens a dashboard of the appliance on the alert's panel, with data.
func TestDashboards(t *testing.T) {
	start := time.Now()
	sim := startSimulator(t, "--tick", "1s")
	cfg := copyConfig(t, "scenarios")
	nTargets := sim.writeTargets(t, filepath.Join(cfg, "targets", "simulator.json"), nil)
	rules, err := filepath.Glob("../configs/rules/*.yml")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(cfg, "rules"), 0o755))
	for _, f := range rules {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(cfg, "rules", filepath.Base(f)), b, 0o644))
	}
	// A dead man's switch that answers: the Watchdog is then delivered
	// (every other receiver is the log fallback without secrets, which
	// reaches nobody and is not counted as delivery), so the delivery SLO's
	// panel has a notification to show.
	deadMan := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(deadMan.Close)
	a := startAppliance(t, cfg, t.TempDir(), map[string]string{"WATCHDOG_WEBHOOK_URL": deadMan.URL + "/watchdog"})
	requireConsole(t, a)
	waitFor(t, 60*time.Second, "every simulator target up", func() bool {
		r := query(t, a, `count(up{job!="smm-appliance"} == 1)`, time.Time{})
		return len(r) == 1 && r[0].Value[1] == fmt.Sprint(nTargets)
	})

	var list []struct {
		UID    string   `json:"uid"`
		Alerts []string `json:"alerts"`
	}
	getAPI(t, a.web+"/api/v1/appliance/dashboards", &list)
	require.Len(t, list, 9, "one dashboard per seed category and the appliance's own")
	dashboards := map[string]dashboardDef{}
	var uids []string
	for _, d := range list {
		var def dashboardDef
		getAPI(t, a.web+"/api/v1/appliance/dashboards/"+d.UID, &def)
		dashboards[d.UID] = def
		uids = append(uids, d.UID)
	}

	t.Run("grafana export", func(t *testing.T) { checkGrafanaExport(t, a, cfg, len(list)) })
	t.Logf("data in every exported query after %s", time.Since(start).Round(time.Second))

	b := newUIBrowser(t, a.web)
	b.open(t, "#/dashboards")
	b.wait(t, 20*time.Second, "dashboard list", `document.querySelectorAll('#dashboards-table tbody tr').length === 9`)
	b.screenshot(t, "dashboards", true)
	for _, uid := range uids {
		states := renderDashboard(t, b, "#/dashboards/"+uid, len(dashboards[uid].Panels))
		for title, state := range states {
			if state != "ok" {
				b.fail(t, "dashboard %s: panel %q is %s", uid, title, state)
			}
		}
		b.screenshot(t, "dashboard-"+uid, true)
	}
	// Stat panels take the colour of their threshold step: no connector
	// down is green, every connector up is above the red step.
	renderDashboard(t, b, "#/dashboards/smm-connectors?range=1h&refresh=off", len(dashboards["smm-connectors"].Panels))
	require.Equal(t, "green|green|1h|off", eval[string](t, b, `[document.querySelector('.dash-panel[data-title="Connectors down"]').dataset.color,
		document.querySelector('.dash-panel[data-title="Connectors up"] .dash-stat').className.includes('th-green') ? 'green' : 'no',
		document.getElementById('dash-range').value, document.getElementById('dash-refresh').value].join('|')`))
	// A link to a dashboard that is gone says so, with the way back.
	b.route(t, "#/dashboards/no-such-dashboard")
	b.wait(t, 10*time.Second, "missing dashboard message", `document.getElementById('dashboard-missing')`)
	t.Logf("%d dashboards rendered after %s", len(uids), time.Since(start).Round(time.Second))

	t.Run("dashboard_url of every shipped rule", func(t *testing.T) {
		checkDashboardURLs(t, a, b, dashboards)
	})

	t.Run("drop-in dashboard on reload", func(t *testing.T) {
		// A broken file is refused with its line and the dashboards in
		// force stay; a good one is served after the reload.
		require.NoError(t, os.MkdirAll(filepath.Join(cfg, "dashboards"), 0o755))
		file := filepath.Join(cfg, "dashboards", "team.yml")
		require.NoError(t, os.WriteFile(file, []byte("uid: team\ntitle: Team\npanels:\n  - title: Up\n    type: stat\n    expr: sum(up\n"), 0o644))
		code, body := postJSON(t, a.web+"/-/reload", nil)
		require.NotEqual(t, 200, code, "%s", body)
		require.Contains(t, string(body), file+`:6: panel "Up": 1:7: parse error: unclosed left parenthesis`)
		getAPI(t, a.web+"/api/v1/appliance/dashboards", &list)
		require.Len(t, list, 9)

		require.NoError(t, os.WriteFile(file, []byte("uid: team\ntitle: Team\npanels:\n  - title: Up\n    type: stat\n    expr: sum(up)\n"), 0o644))
		code, body = postJSON(t, a.web+"/-/reload", nil)
		require.Equal(t, 200, code, "%s", body)
		getAPI(t, a.web+"/api/v1/appliance/dashboards", &list)
		require.Len(t, list, 10)
		states := renderDashboard(t, b, "#/dashboards/team", 1)
		require.Equal(t, map[string]string{"Up": "ok"}, states)
	})
	require.Empty(t, b.jsErrors())
	t.Logf("done in %s", time.Since(start).Round(time.Second))
}

// TestDashboardsCheckConfig: `check config` lists the dashboard files with
// their origin, and refuses a bad one naming its file and line.
func TestDashboardsCheckConfig(t *testing.T) {
	cfg := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(cfg, "dashboards"), 0o755))
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(cfg, "dashboards", name), []byte(text), 0o644))
	}
	write("team.yml", "uid: team\ntitle: Team\npanels:\n  - title: Up\n    type: stat\n    expr: sum(up)\n")
	write("budget.yml", "uid: smm-budget\ntitle: Budget, ours\npanels:\n  - title: Spent\n    type: stat\n    expr: sum(smm_budget_spent_dollars)\n")
	out, err := exec.Command(binary, "check", "config", "--config.dir", cfg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, want := range []string{
		"file dashboards/team.yml: added (" + filepath.Join(cfg, "dashboards/team.yml") + ")",
		"file dashboards/budget.yml: overridden (" + filepath.Join(cfg, "dashboards/budget.yml") + ")",
		"file dashboards/agents.yml: embedded (<embedded>/dashboards/agents.yml)",
		"SUCCESS: dashboard " + filepath.Join(cfg, "dashboards/budget.yml") + " is valid (smm-budget, 1 panels, 4 alerts link to it)",
	} {
		require.Contains(t, string(out), want)
	}

	write("team.yml", "uid: smm-agents\ntitle: Team\npanels:\n  - title: Up\n    type: stat\n    expr: rate(up[5m]\n")
	out, err = exec.Command(binary, "check", "config", "--config.dir", cfg).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), filepath.Join(cfg, "dashboards/team.yml")+`:6: panel "Up": `)
	require.Contains(t, string(out), "unclosed left parenthesis")
	write("team.yml", "uid: smm-agents\ntitle: Team\npanels:\n  - title: Up\n    type: stat\n    expr: up\n")
	out, err = exec.Command(binary, "check", "config", "--config.dir", cfg).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), filepath.Join(cfg, "dashboards/team.yml")+`:1: uid "smm-agents" already used by <embedded>/dashboards/agents.yml:4`)
}

// getAPI reads the data of a {"status":"success","data":…} answer.
func getAPI(t *testing.T, u string, into any) {
	t.Helper()
	var resp struct {
		Data json.RawMessage `json:"data"`
	}
	getJSON(t, u, &resp)
	require.NoError(t, json.Unmarshal(resp.Data, into), u)
}

// renderDashboard moves the console to route, waits until each of its n
// panels (n+1 with the alert's) has finished loading and returns their
// states by title: ok, empty or error.
func renderDashboard(t *testing.T, b *uiBrowser, route string, n int) map[string]string {
	t.Helper()
	// The previous dashboard's grid is marked, so the wait sees the new one.
	eval[bool](t, b, `(() => { const g = document.getElementById('dashboard-panels'); if (g) g.dataset.old = '1'; return true; })()`)
	eval[bool](t, b, fmt.Sprintf(`(() => { location.hash = %q; return true; })()`, route))
	b.wait(t, 20*time.Second, "panels of "+route, fmt.Sprintf(`(() => {
		const g = document.getElementById('dashboard-panels');
		if (!g || g.dataset.old) return false;
		const ps = [...g.querySelectorAll('.dash-panel')];
		return ps.length === %d && ps.every((p) => p.dataset.state !== 'loading');
	})()`, n))
	var states map[string]string
	js := eval[string](t, b, `JSON.stringify(Object.fromEntries([...document.querySelectorAll('#dashboard-panels .dash-panel')].map((p) => [p.dataset.title, p.dataset.state])))`)
	require.NoError(t, json.Unmarshal([]byte(js), &states))
	return states
}

var grafanaVarRE = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
var labelValuesRE = regexp.MustCompile(`^label_values\((.+), ([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// checkGrafanaExport runs `smm-appliance dashboards export --grafana` on the
// test's configuration and checks what Grafana would run: every target's
// expression parses (variables as Grafana's All, ".*") and returns data,
// every variable's label_values has values, the provisioning files point at
// the exported directory and the appliance.
func checkGrafanaExport(t *testing.T, a *appliance, cfg string, n int) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "dashboards", "export", "--grafana", dir, "--config.dir", cfg, "--grafana.datasource-url", a.web).CombinedOutput()
	require.NoError(t, err, "%s", out)
	files, err := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, n)
	ds, err := os.ReadFile(filepath.Join(dir, "provisioning", "datasources", "smm-appliance.yml"))
	require.NoError(t, err)
	require.Contains(t, string(ds), "url: "+a.web+"\n")
	require.Contains(t, string(ds), "uid: smm-appliance\n")
	prov, err := os.ReadFile(filepath.Join(dir, "provisioning", "dashboards", "smm-appliance.yml"))
	require.NoError(t, err)
	require.Contains(t, string(prov), "path: "+filepath.Join(dir, "dashboards")+"\n")

	type check struct{ where, expr, varMetric, varLabel string }
	var checks []check
	p := parser.NewParser(parser.Options{})
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var g struct {
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(b, &g), f)
		require.NotEmpty(t, g.Panels, f)
		for _, v := range g.Templating.List {
			m := labelValuesRE.FindStringSubmatch(v.Definition)
			require.NotNil(t, m, "%s: variable %s: %q is not label_values(metric, label)", f, v.Name, v.Definition)
			_, err := p.ParseMetricSelector(m[1])
			require.NoError(t, err, "%s: variable %s", f, v.Name)
			checks = append(checks, check{where: fmt.Sprintf("%s variable %s", filepath.Base(f), v.Name), varMetric: m[1], varLabel: m[2]})
		}
		for _, pn := range g.Panels {
			for _, tg := range pn.Targets {
				expr := grafanaVarRE.ReplaceAllString(tg.Expr, ".*")
				_, err := p.ParseExpr(expr)
				require.NoError(t, err, "%s: panel %q: %s", f, pn.Title, expr)
				checks = append(checks, check{where: fmt.Sprintf("%s panel %q", filepath.Base(f), pn.Title), expr: expr})
			}
		}
	}
	// The simulator's first samples arrive within seconds; a rate needs two.
	var empty []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		empty = empty[:0]
		for _, c := range checks {
			if c.expr != "" {
				if len(query(t, a, c.expr, time.Time{})) == 0 {
					empty = append(empty, c.where+": "+c.expr)
				}
				continue
			}
			var values []string
			getAPI(t, a.web+"/api/v1/label/"+c.varLabel+"/values?"+url.Values{"match[]": {c.varMetric}}.Encode(), &values)
			if len(values) == 0 {
				empty = append(empty, c.where+": no values")
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	require.Empty(t, empty, "exported queries without data")
	t.Logf("%d exported queries and variables return data", len(checks))
}

// checkDashboardURLs opens every alerting rule's dashboard_url.
func checkDashboardURLs(t *testing.T, a *appliance, b *uiBrowser, dashboards map[string]dashboardDef) {
	var groups struct {
		Groups []struct {
			Rules []struct {
				Type        string            `json:"type"`
				Name        string            `json:"name"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	getAPI(t, a.web+"/api/v1/rules?type=alert", &groups)
	var active struct {
		Alerts []struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"alerts"`
	}
	getAPI(t, a.web+"/api/v1/alerts", &active)
	expanded := map[string]string{} // by alertname, as the appliance expanded it
	for _, al := range active.Alerts {
		expanded[al.Labels["alertname"]] = al.Annotations["dashboard_url"]
	}
	require.Contains(t, expanded, "Watchdog", "the always-firing alert")
	// The appliance's external URL, as its own expansion shows it.
	extURL, _, ok := strings.Cut(expanded["Watchdog"], "/#/dashboards/")
	require.True(t, ok, "Watchdog's dashboard_url %q", expanded["Watchdog"])
	ext, err := url.Parse(extURL)
	require.NoError(t, err)

	seen, real := 0, 0
	var names []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Type != "alerting" {
				continue
			}
			seen++
			names = append(names, r.Name)
			link, ok := expanded[r.Name]
			if ok {
				real++
			} else {
				link = expandDashboardURL(t, a, r.Name, r.Annotations["dashboard_url"], r.Labels, dashboards, ext)
			}
			require.True(t, strings.HasPrefix(link, extURL+"/#/dashboards/"), "%s: dashboard_url %q is not the appliance's", r.Name, link)
			route := "#" + strings.SplitN(link, "#", 2)[1]
			u, err := url.Parse("http://x/" + strings.TrimPrefix(route, "#/"))
			require.NoError(t, err)
			uid := strings.TrimPrefix(u.Path, "/dashboards/")
			d, ok := dashboards[uid]
			require.True(t, ok, "%s: dashboard %q does not exist", r.Name, uid)
			require.Equal(t, r.Name, u.Query().Get("alert"), "%s: the link opens the alert's panel", r.Name)
			states := renderDashboard(t, b, route, len(d.Panels)+1)
			alertPanel := ""
			for title, state := range states {
				if strings.HasPrefix(title, "Alert "+r.Name+": ") {
					alertPanel = state
				}
				if state == "error" {
					b.fail(t, "%s: %s: panel %q is an error", r.Name, route, title)
				}
			}
			if alertPanel != "ok" {
				b.fail(t, "%s: %s: the alert's panel is %q, want data", r.Name, route, alertPanel)
			}
			if r.Name == "SMM_ConnectorHighLatency" {
				// The alert's panel shows the alert's connector only.
				require.Equal(t, "1", eval[string](t, b, `document.querySelector('.dash-panel.dash-alert').dataset.series`), route)
			}
			if r.Name == "Watchdog" || r.Name == "SMM_ConnectorHighLatency" {
				b.screenshot(t, "dashboard-alert-"+r.Name, false)
			}
		}
	}
	// The Alerts page links each alert to its dashboard: the Watchdog, shown
	// as the pipeline heartbeat, has a Dashboard button that carries the
	// appliance's expansion and opens its panel.
	b.route(t, "#/alerts")
	b.wait(t, 30*time.Second, "the heartbeat's Dashboard button", `document.querySelector('#heartbeat a.a-dashboard')`)
	href := eval[string](t, b, `document.querySelector('#heartbeat a.a-dashboard').href`)
	require.Equal(t, expanded["Watchdog"], href)
	states := renderDashboard(t, b, "#"+strings.SplitN(href, "#", 2)[1], len(dashboards["smm-appliance"].Panels)+1)
	require.Equal(t, "ok", states["Alert Watchdog: vector(1)"], "%v", states)

	sort.Strings(names)
	require.GreaterOrEqual(t, seen, 30, "the shipped alerting rules: %v", names)
	require.GreaterOrEqual(t, real, 1)
	t.Logf("%d dashboard_url links open their dashboard (%d as the appliance expanded them for active alerts)", seen, real)
}

// expandDashboardURL expands a rule's dashboard_url as the rule manager does
// (rules/alerting.go), for an alert with the labels of the first series of
// the rule's compared value plus the rule's own labels.
func expandDashboardURL(t *testing.T, a *appliance, name, text string, ruleLabels map[string]string, dashboards map[string]dashboardDef, ext *url.URL) string {
	t.Helper()
	labels := map[string]string{}
	for _, d := range dashboards {
		for _, al := range d.Alerts {
			if al.Name != name {
				continue
			}
			if r := query(t, a, al.Query, time.Time{}); len(r) > 0 {
				for k, v := range r[0].Metric {
					labels[k] = v
				}
			}
		}
	}
	delete(labels, "__name__")
	for k, v := range ruleLabels {
		labels[k] = v
	}
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	data := promtemplate.AlertTemplateData(labels, map[string]string{"environment": "e2e"}, ext.String(), promql.Sample{F: 1})
	exp := promtemplate.NewTemplateExpander(context.Background(), defs+text, "__alert_"+name, data, model.Now(), nil, ext, nil)
	out, err := exp.Expand()
	require.NoError(t, err, "%s: expand %q", name, text)
	return out
}
