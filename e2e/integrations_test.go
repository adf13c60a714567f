package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// httpSink stands in for Slack, PagerDuty or Teams: it records the JSON
// bodies posted to it and answers as the real service does to a good request.
type httpSink struct {
	srv *httptest.Server

	mu     sync.Mutex
	bodies []json.RawMessage
}

func newHTTPSink(t *testing.T, status int, contentType, reply string) *httpSink {
	s := &httpSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || !json.Valid(b) {
			http.Error(w, "want a POST of JSON", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// decodeAll unmarshals every body s received so far, in order of arrival.
func decodeAll[T any](t *testing.T, s *httpSink) []T {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, len(s.bodies))
	for i, b := range s.bodies {
		require.NoError(t, json.Unmarshal(b, &out[i]), "%s", b)
	}
	return out
}

// slackMessage is what Alertmanager posts to a Slack incoming webhook.
type slackMessage struct {
	Channel     string `json:"channel"`
	Username    string `json:"username"`
	Attachments []struct {
		Title     string `json:"title"`
		TitleLink string `json:"title_link"`
		Text      string `json:"text"`
		Fallback  string `json:"fallback"`
		Color     string `json:"color"`
		Actions   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
			URL  string `json:"url"`
		} `json:"actions"`
	} `json:"attachments"`
}

// pagerDutyEvent is a PagerDuty Events API v2 request.
type pagerDutyEvent struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Client      string `json:"client"`
	ClientURL   string `json:"client_url"`
	Payload     struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Component     string         `json:"component"`
		Group         string         `json:"group"`
		Class         string         `json:"class"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
	Links []struct {
		Href string `json:"href"`
		Text string `json:"text"`
	} `json:"links"`
}

// teamsCard is the adaptive card message of the msteamsv2 integration.
type teamsCard struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string `json:"contentType"`
		Content     struct {
			Type string `json:"type"`
			Body []struct {
				Text  string `json:"text"`
				Color string `json:"color"`
			} `json:"body"`
		} `json:"content"`
	} `json:"attachments"`
}

// shippedConfigDir builds a config directory from testdata/<name> (the
// prometheus.yml and any test rules) plus the shipped templates, the shipped
// rule files named in rules, and the shipped alertmanager.yml with edits
// applied. Each edit replaces exactly one occurrence of old, so a change of
// the shipped file fails here instead of silently testing something else.
func shippedConfigDir(t *testing.T, name string, rules []string, edits ...[2]string) string {
	t.Helper()
	dir := copyConfig(t, name)
	require.NoError(t, os.CopyFS(filepath.Join(dir, "templates"), os.DirFS("../configs/templates")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rules"), 0o755))
	for _, r := range rules {
		b, err := os.ReadFile(filepath.Join("../configs/rules", r))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", r), b, 0o644))
	}
	b, err := os.ReadFile("../configs/alertmanager.yml")
	require.NoError(t, err)
	am := string(b)
	for _, e := range edits {
		require.Equal(t, 1, strings.Count(am, e[0]), "shipped alertmanager.yml must contain exactly once:\n%s", e[0])
		am = strings.Replace(am, e[0], e[1], 1)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(am), 0o644))
	return dir
}

// pagerDutyURLEdit points the global pagerduty_url at u, replacing the
// shipped ${PAGERDUTY_URL:-…} default.
func pagerDutyURLEdit(u string) [2]string {
	return [2]string{"pagerduty_url: ${PAGERDUTY_URL:-https://events.pagerduty.com/v2/enqueue}", "pagerduty_url: " + u}
}

// TestIntegrations drives the shipped SMM_DatabaseConnectionFailure rule, the
// shipped alertmanager.yml and the shipped templates through every real
// integration: Slack, PagerDuty Events v2 and Teams (local HTTP servers) and
// e-mail (a local SMTP relay with STARTTLS), firing and then resolved.
//
// Deviations from the shipped files, made by the test on its copy: the
// critical branch's group_interval 1m becomes 2s, so the resolved
// notifications come seconds after the resolution instead of up to a minute;
// PAGERDUTY_URL points the shipped global pagerduty_url at the local
// PagerDuty. group_wait (5s) and the rule (for: 1m) are the
// shipped ones, so the test takes a little over a minute.
func TestIntegrations(t *testing.T) {
	exp := newExporter(t)
	exp.set("pg_up", 0) // pending from the first evaluation on
	slack := newHTTPSink(t, http.StatusOK, "text/plain", "ok")
	pagerDuty := newHTTPSink(t, http.StatusAccepted, "application/json", `{"status":"success","message":"Event processed"}`)
	teams := newHTTPSink(t, http.StatusAccepted, "text/plain", "")
	smtpd := newSMTPSink(t)

	dir := shippedConfigDir(t, "integrations/postgres", []string{"infrastructure.yml"},
		[2]string{"group_wait: 5s\n      group_interval: 1m\n", "group_wait: 5s\n      group_interval: 2s\n"},
	)
	const (
		extURL     = "http://smm-appliance.e2e.example:9090"
		routingKey = "e2e0routing0key0000000000000001"
		from       = "smm-appliance@smm-architect.com"
	)
	env := map[string]string{
		"E2E_POSTGRES_EXPORTER":     exp.addr(),
		"SMM_ENVIRONMENT":           "integration",
		"SLACK_WEBHOOK_URL":         slack.srv.URL + "/services/T0E2E/B0E2E/slack",
		"SLACK_BOT_TOKEN":           "", // webhook mode (TestSlackBotToken covers the bot)
		"PAGERDUTY_INTEGRATION_KEY": routingKey,
		"PAGERDUTY_URL":             pagerDuty.srv.URL + "/v2/enqueue",
		"SMTP_SMARTHOST":            smtpd.addr,
		"SMTP_FROM":                 from,
		"SMTP_USERNAME":             "", // no SMTP AUTH
		"SMTP_PASSWORD":             "",
		"TEAMS_WEBHOOK_URL":         teams.srv.URL + "/workflows/e2e",
		"WATCHDOG_WEBHOOK_URL":      "",
		// Alertmanager verifies the relay's STARTTLS certificate against the
		// system roots; Go reads them from this file.
		"SSL_CERT_FILE": smtpd.caFile,
	}
	start := time.Now()
	a := startAppliance(t, dir, t.TempDir(), env, "--web.external-url", extURL)

	// Every channel is configured except the optional Watchdog webhook.
	var status struct {
		Data struct {
			Channels []channelStatus `json:"channels"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/status", &status)
	require.NotEmpty(t, status.Data.Channels)
	for _, ch := range status.Data.Channels {
		if ch.Receiver == "watchdog" {
			require.False(t, ch.Enabled)
			require.Equal(t, []string{"WATCHDOG_WEBHOOK_URL"}, ch.Missing)
			continue
		}
		require.True(t, ch.inForce(), "%+v", ch)
	}

	const alertname = "SMM_DatabaseConnectionFailure"
	waitFor(t, 15*time.Second, alertname+" pending", func() bool { return promAlertState(t, a, alertname) == "pending" })

	// What the shipped rule and templates make of pg_up=0 on this exporter.
	inst := exp.addr()
	var (
		summary     = "Postgres on " + inst + " is unreachable"
		description = "The Postgres exporter on " + inst + " cannot connect to the database (pg_up = 0). SMM services that need the database are failing."
		runbook     = "https://wiki.smm-architect.com/runbooks/SMM_DatabaseConnectionFailure"
		dashboard   = extURL + "/#/dashboards/smm-infrastructure?var-instance=" + url.QueryEscape(inst) + "&alert=SMM_DatabaseConnectionFailure"
		silence     = extURL + "/#/silences/new?filter=" + url.QueryEscape(fmt.Sprintf(`{alertname=%q,service=%q,team=%q}`, alertname, "postgres", "database"))
		firingTitle = "[FIRING:1] SMM_DatabaseConnectionFailure (critical)"
		resolvTitle = "[RESOLVED] SMM_DatabaseConnectionFailure (critical)"
	)

	// The alert as the embedded Alertmanager holds it: exactly the shipped
	// rule's labels and annotations, plus the target and external labels.
	var amAlerts []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Receivers   []struct {
			Name string `json:"name"`
		} `json:"receivers"`
	}
	waitFor(t, 90*time.Second, alertname+" in Alertmanager", func() bool {
		getJSON(t, a.am+"/api/v2/alerts?filter="+url.QueryEscape(`alertname="`+alertname+`"`), &amAlerts)
		return len(amAlerts) == 1
	})
	require.Equal(t, map[string]string{
		"alertname":   alertname,
		"severity":    "critical",
		"team":        "database",
		"service":     "postgres",
		"category":    "infrastructure",
		"instance":    inst,
		"job":         "postgres",
		"environment": "integration",
	}, amAlerts[0].Labels)
	require.Equal(t, map[string]string{
		"summary":       summary,
		"description":   description,
		"runbook_url":   runbook,
		"dashboard_url": dashboard,
	}, amAlerts[0].Annotations)
	var receivers []string
	for _, r := range amAlerts[0].Receivers {
		receivers = append(receivers, r.Name)
	}
	require.ElementsMatch(t, []string{"pagerduty-oncall", "msteams-mirror", "platform-slack", "platform-email", "database-slack", "database-email"}, receivers)

	// Firing: one message per channel and address.
	waitFor(t, 30*time.Second, "firing notifications on every integration", func() bool {
		return len(decodeAll[slackMessage](t, slack)) >= 2 && len(decodeAll[pagerDutyEvent](t, pagerDuty)) >= 1 &&
			len(decodeAll[teamsCard](t, teams)) >= 1 && len(smtpd.messages()) >= 2
	})
	t.Logf("firing notifications after %s", time.Since(start))

	slackMsgs := decodeAll[slackMessage](t, slack)
	require.Len(t, slackMsgs, 2)
	var channels []string
	for _, m := range slackMsgs {
		channels = append(channels, m.Channel)
		requireSlack(t, m, "danger", firingTitle, ":rotating_light: *"+summary+"*\n"+description+"\n*Service:* `postgres`  *Team:* database  *Environment:* integration  *Since:* ",
			firingTitle+": "+summary, runbook, dashboard, silence)
	}
	require.ElementsMatch(t, []string{"#smm-database-alerts", "#smm-platform-alerts"}, channels)

	pd := decodeAll[pagerDutyEvent](t, pagerDuty)
	require.Len(t, pd, 1)
	requirePagerDuty(t, pd[0], 1, "trigger", routingKey, extURL, alertname+": "+summary, description+"\n", runbook, dashboard, silence)
	dedupKey := pd[0].DedupKey

	cards := decodeAll[teamsCard](t, teams)
	require.Len(t, cards, 1)
	requireTeams(t, cards[0], firingTitle, "Attention",
		"**"+summary+"**\n\n"+description+"\n\nService: postgres | Team: database | Environment: integration\n\n["+
			"Runbook]("+runbook+") | [Dashboard]("+dashboard+")\n\n[Silence]("+silence+")")

	require.Len(t, smtpd.messages(), 2)
	for _, to := range []string{"database-team@smm-architect.com", "platform-team@smm-architect.com"} {
		got := smtpd.to(to, "FIRING")
		require.Len(t, got, 1, "firing e-mail to %s", to)
		requireEmail(t, got[0], from, to, "[SMM CRITICAL] "+firingTitle+" in integration", "#d6332b",
			firingTitle+"\n\nFIRING: "+summary+"\n"+description+"\n  service:     postgres\n  team:        database\n  severity:    critical\n",
			"<strong>FIRING: "+summary+"</strong>", runbook, dashboard, silence)
	}

	// Resolved: pg_up back to 1.
	resolvedAt := time.Now()
	exp.set("pg_up", 1)
	waitFor(t, 30*time.Second, "resolved notifications on every integration", func() bool {
		return len(decodeAll[slackMessage](t, slack)) >= 4 && len(decodeAll[pagerDutyEvent](t, pagerDuty)) >= 2 &&
			len(decodeAll[teamsCard](t, teams)) >= 2 && len(smtpd.messages()) >= 4
	})
	t.Logf("resolved notifications %s after pg_up=1", time.Since(resolvedAt))

	slackMsgs = decodeAll[slackMessage](t, slack)
	require.Len(t, slackMsgs, 4)
	channels = nil
	for _, m := range slackMsgs[2:] {
		channels = append(channels, m.Channel)
		// Resolved says so, when, and for how long it fired; not the firing text again.
		requireSlack(t, m, "good", resolvTitle, ":white_check_mark: *RESOLVED: "+summary+"*\nResolved at ",
			resolvTitle+": "+summary, runbook, dashboard, silence)
	}
	require.ElementsMatch(t, []string{"#smm-database-alerts", "#smm-platform-alerts"}, channels)
	for _, m := range slackMsgs[2:] {
		require.Contains(t, m.Attachments[0].Text, " after firing for ")
		require.NotContains(t, m.Attachments[0].Text, description)
	}

	pd = decodeAll[pagerDutyEvent](t, pagerDuty)
	require.Len(t, pd, 2)
	// Only firing alerts are listed in the details; none are left.
	requirePagerDuty(t, pd[1], 0, "resolve", routingKey, extURL, alertname+": "+summary, "", runbook, dashboard, silence)
	require.Equal(t, dedupKey, pd[1].DedupKey, "the resolve closes the incident the trigger opened")

	cards = decodeAll[teamsCard](t, teams)
	require.Len(t, cards, 2)
	requireTeams(t, cards[1], resolvTitle, "Good", "**"+summary+"**\n\n"+description)

	require.Len(t, smtpd.messages(), 4)
	for _, to := range []string{"database-team@smm-architect.com", "platform-team@smm-architect.com"} {
		got := smtpd.to(to, "RESOLVED")
		require.Len(t, got, 1, "resolved e-mail to %s", to)
		requireEmail(t, got[0], from, to, "[SMM CRITICAL] "+resolvTitle+" in integration", "#2eb67d",
			resolvTitle+"\n\nRESOLVED: "+summary+"\n"+description+"\n  service:     postgres\n",
			"<strong>RESOLVED: "+summary+"</strong>", runbook, dashboard, silence)
	}

	a.stop()
	t.Logf("total %s", time.Since(start))
}

func requireSlack(t *testing.T, m slackMessage, color, title, textPrefix, fallback, runbook, dashboard, silence string) {
	t.Helper()
	require.Equal(t, "SMM Monitor", m.Username)
	require.Len(t, m.Attachments, 1)
	at := m.Attachments[0]
	require.Equal(t, color, at.Color)
	require.Equal(t, title, at.Title)
	require.Equal(t, runbook, at.TitleLink)
	require.Equal(t, fallback, at.Fallback)
	require.True(t, strings.HasPrefix(at.Text, textPrefix), "slack text:\n%s\nwant prefix:\n%s", at.Text, textPrefix)
	// Silence the whole group while it fires; a resolved message offers none.
	if color == "good" {
		require.NotContains(t, at.Text, "ilence")
	} else {
		require.True(t, strings.HasSuffix(at.Text, "\n<"+silence+"|Silence this group>"), "slack text:\n%s", at.Text)
	}
	require.Len(t, at.Actions, 2)
	for i, want := range [][2]string{{"Runbook", runbook}, {"Dashboard", dashboard}} {
		require.Equal(t, "button", at.Actions[i].Type)
		require.Equal(t, want[0], at.Actions[i].Text)
		require.Equal(t, want[1], at.Actions[i].URL, "%s link", want[0])
	}
}

func requirePagerDuty(t *testing.T, e pagerDutyEvent, firing int, action, routingKey, extURL, summary, alerts, runbook, dashboard, silence string) {
	t.Helper()
	require.Equal(t, action, e.EventAction)
	require.Equal(t, routingKey, e.RoutingKey)
	require.NotEmpty(t, e.DedupKey)
	require.Equal(t, "SMM Appliance", e.Client)
	require.Equal(t, extURL, e.ClientURL)
	require.Equal(t, summary, e.Payload.Summary)
	require.Equal(t, "SMM Appliance", e.Payload.Source)
	require.Equal(t, "critical", e.Payload.Severity)
	require.Equal(t, "postgres", e.Payload.Component)
	require.Equal(t, "infrastructure", e.Payload.Group)
	require.Equal(t, "SMM_DatabaseConnectionFailure", e.Payload.Class)
	// The shipped details; Alertmanager adds its default ones (firing,
	// resolved, num_firing, num_resolved) beside them.
	for k, want := range map[string]any{
		"summary":      strings.TrimPrefix(summary, "SMM_DatabaseConnectionFailure: "),
		"service":      "postgres",
		"environment":  "integration",
		"team":         "database",
		"num_firing":   float64(firing),
		"num_resolved": float64(1 - firing),
	} {
		require.Equal(t, want, e.Payload.CustomDetails[k], "custom_details.%s", k)
	}
	// The firing alerts' descriptions; none once resolved (the empty
	// rendering is left out of the event).
	if alerts == "" {
		require.Empty(t, e.Payload.CustomDetails["alerts"])
	} else {
		require.Equal(t, alerts, e.Payload.CustomDetails["alerts"])
	}
	// Acknowledge, Snooze 1 h and Open in console while it fires
	// (docs/acknowledging.md); an empty link is left out once resolved.
	want := [][2]string{{"Runbook", runbook}, {"Dashboard", dashboard}, {"Silence", silence}}
	if firing > 0 {
		ack := extURL + "/ack?a="
		want = append(want, [2]string{"Acknowledge", ack}, [2]string{"Snooze 1 h", ack}, [2]string{"Open in console", extURL + "/#/alerts?filter="})
	}
	require.Len(t, e.Links, len(want))
	for i, w := range want {
		require.Equal(t, w[0], e.Links[i].Text)
		if i < 3 {
			require.Equal(t, w[1], e.Links[i].Href, "%s link", w[0])
		} else {
			require.True(t, strings.HasPrefix(e.Links[i].Href, w[1]), "%s link %s", w[0], e.Links[i].Href)
		}
	}
}

func requireTeams(t *testing.T, c teamsCard, title, color, textPrefix string) {
	t.Helper()
	require.Equal(t, "message", c.Type)
	require.Len(t, c.Attachments, 1)
	require.Equal(t, "application/vnd.microsoft.card.adaptive", c.Attachments[0].ContentType)
	body := c.Attachments[0].Content.Body
	require.Equal(t, "AdaptiveCard", c.Attachments[0].Content.Type)
	require.Len(t, body, 2)
	require.Equal(t, title, body[0].Text)
	require.Equal(t, color, body[0].Color)
	require.True(t, strings.HasPrefix(body[1].Text, textPrefix), "teams text:\n%s\nwant prefix:\n%s", body[1].Text, textPrefix)
}

func requireEmail(t *testing.T, m sentMail, from, to, subject, h2Color, textPrefix, htmlStatus, runbook, dashboard, silence string) {
	t.Helper()
	require.True(t, m.TLS, "sent after STARTTLS")
	require.Equal(t, from, m.From)
	require.Equal(t, []string{to}, m.To)
	require.Equal(t, to, m.Header.Get("To"))
	require.Equal(t, subject, m.Subject)
	require.True(t, strings.HasPrefix(m.Text, textPrefix), "text part:\n%s\nwant prefix:\n%s", m.Text, textPrefix)
	require.Contains(t, m.Text, "  runbook:     "+runbook+"\n")
	require.Contains(t, m.Text, "  dashboard:   "+dashboard+"\n")
	require.Contains(t, m.Text, "Silence: "+silence+"\n")
	require.Contains(t, m.HTML, `<h2 style="color: `+h2Color+`;">`)
	require.Contains(t, m.HTML, htmlStatus)
	require.Contains(t, m.HTML, `<a href="`+runbook+`">Runbook</a>`)
	require.Contains(t, m.HTML, `<a href="`+html.EscapeString(dashboard)+`">Dashboard</a>`, "an & in the link is &amp; in HTML")
	require.Contains(t, m.HTML, `<a href="`+silence+`">Silence this alert</a>`)
}
