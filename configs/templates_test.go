package configs

import (
	"net/url"
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
