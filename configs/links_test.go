package configs

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"
)

// group is a notification of n firing alerts (fingerprints 000…1, 000…2, …)
// and one resolved one, to receiver db-slack.
func group(n int) *template.Data {
	d := notification("firing", "critical")
	d.Receiver = "db-slack"
	base := d.Alerts[0]
	d.Alerts = nil
	for i := 1; i <= n; i++ {
		a := base
		a.Fingerprint = fmt.Sprintf("%016x", i)
		d.Alerts = append(d.Alerts, a)
	}
	r := base
	r.Status, r.Fingerprint, r.EndsAt = "resolved", "00000000000000ff", base.StartsAt.Add(time.Minute)
	d.Alerts = append(d.Alerts, r)
	return d
}

// TestLinksInEveryMessage: the Slack, e-mail (text and HTML), Teams and
// PagerDuty texts carry Acknowledge, Snooze 1 h and Open in console for the
// firing alerts of the notification only; a resolved notification carries
// none, and a huge one only the console link.
func TestLinksInEveryMessage(t *testing.T) {
	tmpl, err := template.FromGlobs([]string{"templates/*.tmpl"})
	require.NoError(t, err)
	tmpl.ExternalURL, _ = url.Parse("http://appliance.invalid:9093")
	ack := "http://appliance.invalid:9093/ack?a=0000000000000001.0000000000000002&r=db-slack"
	consoleURL := "http://appliance.invalid:9093/#/alerts?filter=" + url.QueryEscape(`{alertname="SMM_ConnectorDown"}`)
	cases := []struct {
		tmpl string
		html bool
		want []string
	}{
		{"smm.slack.text", false, []string{"<" + ack + "|Acknowledge>", "<" + ack + "&snooze=1h|Snooze 1 h>", "<" + consoleURL + "|Open in console>"}},
		{"smm.email.text", false, []string{"Acknowledge:     " + ack + "\n", "Snooze 1 h:      " + ack + "&snooze=1h\n", "Open in console: " + consoleURL + "\n"}},
		{"smm.email.html", true, []string{`<a href="` + ack + `">Acknowledge</a>`, `<a href="` + ack + `&snooze=1h">Snooze 1 h</a>`, `">Open in console</a>`}},
		{"smm.msteams.text", false, []string{"[Acknowledge](" + ack + ")", "[Snooze 1 h](" + ack + "&snooze=1h)", "[Open in console](" + consoleURL + ")"}},
		{"smm.pagerduty.ack_url", false, []string{ack}},
		{"smm.pagerduty.snooze_url", false, []string{ack + "&snooze=1h"}},
		{"smm.links.slack_value", false, []string{"ack db-slack 0000000000000001.0000000000000002"}},
	}
	for _, c := range cases {
		t.Run(c.tmpl, func(t *testing.T) {
			text := `{{ template "` + c.tmpl + `" . }}`
			exec := tmpl.ExecuteTextString
			if c.html {
				exec = tmpl.ExecuteHTMLString
			}
			out, err := exec(text, group(2))
			require.NoError(t, err)
			for _, w := range c.want {
				require.Contains(t, out, w)
			}
			require.NotContains(t, out, "00000000000000ff", "a resolved alert is not in the links")

			resolved := resolvedAfter(notification("resolved", "critical"), time.Hour)
			out, err = exec(text, resolved)
			require.NoError(t, err)
			require.NotContains(t, out, "/ack?", "a resolved notification has nothing to acknowledge")

			out, err = exec(text, group(51))
			require.NoError(t, err)
			require.NotContains(t, out, "/ack?", "over 50 alerts: no ack links")
			if !strings.Contains(c.tmpl, "pagerduty") && c.tmpl != "smm.links.slack_value" {
				require.Contains(t, out, "Open in console")
			}
		})
	}
}
