package configs

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"
)

// notification is the data Alertmanager hands the templates for one group.
func notification(status, severity string) *template.Data {
	labels := template.KV{
		"alertname": "SMM_ConnectorDown", "severity": severity, "team": "connector",
		"service": "smm-connectors", "category": "connectors",
		"connector": "twitter", "instance": "127.0.0.1:9101", "environment": "staging",
	}
	annotations := template.KV{
		"summary":       "Connector twitter is down on 127.0.0.1:9101",
		"description":   "Connector twitter on 127.0.0.1:9101 reports smm_connector_up = 0.",
		"runbook_url":   "https://wiki.smm-architect.com/runbooks/SMM_ConnectorDown",
		"dashboard_url": "https://grafana.smm-architect.com/d/smm-connectors?var-connector=twitter",
	}
	return &template.Data{
		Receiver: "connector-slack",
		Status:   status,
		Alerts: template.Alerts{{
			Status: status, Labels: labels, Annotations: annotations,
			StartsAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		}},
		GroupLabels:       template.KV{"alertname": "SMM_ConnectorDown", "service": "smm-connectors", "instance": "127.0.0.1:9101", "connector": "twitter"},
		CommonLabels:      labels,
		CommonAnnotations: annotations,
		ExternalURL:       "http://appliance.invalid:9093",
	}
}

// resolvedAfter sets the alerts' end d after their start.
func resolvedAfter(d *template.Data, after time.Duration) *template.Data {
	for i := range d.Alerts {
		d.Alerts[i].EndsAt = d.Alerts[i].StartsAt.Add(after)
	}
	return d
}

// TestTemplates renders the named templates the receivers use.
func TestTemplates(t *testing.T) {
	tmpl, err := template.FromGlobs([]string{"templates/*.tmpl"})
	require.NoError(t, err)
	tmpl.ExternalURL, _ = url.Parse("http://appliance.invalid:9093")

	silence := "http://appliance.invalid:9093/#/silences/new?filter=" +
		url.QueryEscape(`{alertname="SMM_ConnectorDown",connector="twitter",instance="127.0.0.1:9101",service="smm-connectors"}`)
	cases := []struct {
		name, tmpl string
		data       *template.Data
		html       bool
		want       string // exact output, or a fragment when contains is set
		contains   bool
	}{
		{name: "slack color critical", tmpl: "smm.slack.color", data: notification("firing", "critical"), want: "danger"},
		{name: "slack color warning", tmpl: "smm.slack.color", data: notification("firing", "warning"), want: "warning"},
		{name: "slack color resolved", tmpl: "smm.slack.color", data: notification("resolved", "critical"), want: "good"},
		{name: "slack title", tmpl: "smm.slack.title", data: notification("firing", "critical"), want: "[FIRING:1] SMM_ConnectorDown (critical)"},
		{name: "slack title resolved", tmpl: "smm.slack.title", data: notification("resolved", "warning"), want: "[RESOLVED] SMM_ConnectorDown (warning)"},
		{name: "slack text", tmpl: "smm.slack.text", data: notification("firing", "critical"), contains: true,
			want: "*Service:* `smm-connectors`  *Team:* connector  *Environment:* staging"},
		{name: "slack text resolved", tmpl: "smm.slack.text", data: resolvedAfter(notification("resolved", "critical"), 95*time.Minute),
			want: ":white_check_mark: *RESOLVED: Connector twitter is down on 127.0.0.1:9101*\n" +
				"Resolved at 2026-11-24 11:35 UTC after firing for 1h 35m 0s (since 2026-11-24 10:00 UTC).\n" +
				"*Service:* `smm-connectors`  *Team:* connector  *Environment:* staging\n"},
		{name: "runbook", tmpl: "smm.runbook_url", data: notification("firing", "critical"), want: "https://wiki.smm-architect.com/runbooks/SMM_ConnectorDown"},
		{name: "dashboard", tmpl: "smm.dashboard_url", data: notification("firing", "critical"), want: "https://grafana.smm-architect.com/d/smm-connectors?var-connector=twitter"},
		{name: "silence link", tmpl: "smm.silence_url", data: notification("firing", "critical"), want: silence},
		{name: "email subject", tmpl: "smm.email.subject", data: notification("firing", "warning"), want: "[SMM WARNING] [FIRING:1] SMM_ConnectorDown (warning) in staging"},
		{name: "email text", tmpl: "smm.email.text", data: notification("firing", "warning"), contains: true,
			want: "  runbook:     https://wiki.smm-architect.com/runbooks/SMM_ConnectorDown\n"},
		{name: "email html", tmpl: "smm.email.html", data: notification("firing", "critical"), html: true, contains: true,
			want: `<a href="https://wiki.smm-architect.com/runbooks/SMM_ConnectorDown">Runbook</a>`},
		{name: "pagerduty summary", tmpl: "smm.pagerduty.description", data: notification("firing", "critical"),
			want: "SMM_ConnectorDown: Connector twitter is down on 127.0.0.1:9101"},
		{name: "pagerduty escalation", tmpl: "smm.pagerduty.escalation_description", data: notification("firing", "critical"),
			want: "ESCALATED (not acknowledged): SMM_ConnectorDown: Connector twitter is down on 127.0.0.1:9101"},
		{name: "teams text", tmpl: "smm.msteams.text", data: notification("firing", "critical"), contains: true,
			want: "[Runbook](https://wiki.smm-architect.com/runbooks/SMM_ConnectorDown) | [Dashboard](https://grafana.smm-architect.com/d/smm-connectors?var-connector=twitter)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := `{{ template "` + c.tmpl + `" . }}`
			var out string
			var err error
			if c.html {
				out, err = tmpl.ExecuteHTMLString(text, c.data)
			} else {
				out, err = tmpl.ExecuteTextString(text, c.data)
			}
			require.NoError(t, err)
			if c.contains {
				require.Contains(t, out, c.want)
			} else {
				require.Equal(t, c.want, out)
			}
		})
	}
}

// storm is a group of n SMM_ConnectorDown alerts that differ by connector,
// the shape group_by [alertname, service, team] gives a storm.
func storm(status string, n int) *template.Data {
	d := notification(status, "critical")
	first := d.Alerts[0]
	d.Alerts = nil
	for i := range n {
		a := first
		a.Labels = template.KV{}
		for k, v := range first.Labels {
			a.Labels[k] = v
		}
		a.Labels["connector"] = "c" + strconv.Itoa(i)
		a.Labels["instance"] = "127.0.0.1:" + strconv.Itoa(9100+i)
		a.EndsAt = a.StartsAt.Add(time.Hour)
		d.Alerts = append(d.Alerts, a)
	}
	d.CommonLabels = template.KV{}
	for k, v := range first.Labels {
		if k != "connector" && k != "instance" {
			d.CommonLabels[k] = v
		}
	}
	d.GroupLabels = template.KV{"alertname": "SMM_ConnectorDown", "service": "smm-connectors", "team": "connector"}
	return d
}

// TestTemplatesAffectedObjects: a group of many alerts is one bounded
// message listing the objects, capped with "and N more", in every channel;
// a resolved Slack message offers no Silence link.
func TestTemplatesAffectedObjects(t *testing.T) {
	tmpl, err := template.FromGlobs([]string{"templates/*.tmpl"})
	require.NoError(t, err)
	tmpl.ExternalURL, _ = url.Parse("http://appliance.invalid:9093")
	render := func(name string, d *template.Data) string {
		out, err := tmpl.ExecuteTextString(`{{ template "`+name+`" . }}`, d)
		require.NoError(t, err)
		return out
	}
	list := "Affected (300 firing):\n- connector=c0, instance=127.0.0.1:9100\n"
	for _, name := range []string{"smm.slack.text", "smm.email.text", "smm.msteams.text"} {
		out := render(name, storm("firing", 300))
		require.Contains(t, out, list, name)
		require.Contains(t, out, "- connector=c9, instance=127.0.0.1:9109\n- and 290 more\n", name)
		require.NotContains(t, out, "connector=c10,", name)
		require.Less(t, len(out), 6000, "%s: a storm is one bounded message", name)
	}
	require.Equal(t, 10, strings.Count(render("smm.email.text", storm("firing", 300)), "FIRING: "), "details of 10 alerts, not 300")
	require.Contains(t, render("smm.pagerduty.alerts", storm("firing", 300)), "and 290 more\n")

	// Firing: the Silence link for the whole group; resolved: none.
	firing := render("smm.slack.text", storm("firing", 3))
	require.True(t, strings.HasSuffix(firing, "|Silence this group>"), firing)
	require.Contains(t, firing, url.QueryEscape(`{alertname="SMM_ConnectorDown",service="smm-connectors",team="connector"}`))
	resolved := render("smm.slack.text", storm("resolved", 3))
	require.Contains(t, resolved, "Affected (3 resolved):\n")
	require.NotContains(t, resolved, "ilence")
	require.NotContains(t, render("smm.slack.text", resolvedAfter(notification("resolved", "critical"), time.Minute)), "ilence")
	// A single alert: no list, its summary names the object.
	require.NotContains(t, render("smm.slack.text", notification("firing", "critical")), "Affected")

	// Mixed: the firing ones are listed, the resolved counted.
	mixed := storm("firing", 4)
	mixed.Alerts[3].Status = "resolved"
	require.Contains(t, render("smm.slack.text", mixed), "Affected (3 firing, 1 resolved):\n")
}
