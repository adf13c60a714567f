package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ackConfigDir is testdata/ack with the shipped templates and the given
// appliance.yml.
func ackConfigDir(t *testing.T, applianceYML string) string {
	t.Helper()
	dir := copyConfig(t, "ack")
	require.NoError(t, os.CopyFS(filepath.Join(dir, "templates"), os.DirFS("../configs/templates")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "appliance.yml"), []byte(applianceYML), 0o644))
	return dir
}

// ackFakes are the receivers' fakes: Slack, PagerDuty and a mail relay.
type ackFakes struct {
	slack, pagerDuty *httpSink
	smtpd            *smtpSink
}

func newAckFakes(t *testing.T) (ackFakes, map[string]string) {
	f := ackFakes{
		slack:     newHTTPSink(t, http.StatusOK, "text/plain", "ok"),
		pagerDuty: newHTTPSink(t, http.StatusAccepted, "application/json", `{"status":"success"}`),
		smtpd:     newSMTPSink(t),
	}
	return f, map[string]string{
		"E2E_SLACK_URL":     f.slack.srv.URL + "/services/T0/B0/x",
		"E2E_PAGERDUTY_URL": f.pagerDuty.srv.URL + "/v2/enqueue",
		"E2E_SMTP":          f.smtpd.addr,
		"SSL_CERT_FILE":     f.smtpd.caFile,
	}
}

// slackTexts are the texts of the Slack messages whose title names alertname.
func (f ackFakes) slackTexts(t *testing.T, alertname string) []string {
	var out []string
	for _, m := range decodeAll[slackMessage](t, f.slack) {
		if len(m.Attachments) == 1 && strings.Contains(m.Attachments[0].Title, alertname) {
			out = append(out, m.Attachments[0].Text)
		}
	}
	return out
}

func ackAlert(name, instance string) amAlert {
	return amAlert{
		Labels:      map[string]string{"alertname": name, "severity": "critical", "team": "database", "instance": instance},
		Annotations: map[string]string{"summary": name + " on " + instance},
	}
}

// ackedAlert is an alert of /api/v1/appliance/alerts with its ack.
type ackedAlert struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Ack         *struct {
		By, Comment, Reason, Via string
		Until                    time.Time
	} `json:"ack"`
}

func applianceAlerts(t *testing.T, a *appliance) map[string]ackedAlert {
	t.Helper()
	var resp struct{ Data []ackedAlert }
	getJSON(t, a.web+"/api/v1/appliance/alerts", &resp)
	out := map[string]ackedAlert{}
	for _, al := range resp.Data {
		out[al.Labels["alertname"]+"/"+al.Labels["instance"]] = al
	}
	return out
}

var (
	slackAckLink = regexp.MustCompile(`<(http[^|>]+/ack[^|>]*)\|Acknowledge>`)
	mailAckLink  = regexp.MustCompile(`Acknowledge: +(\S+)`)
	mailSnooze   = regexp.MustCompile(`Snooze 1 h: +(\S+)`)
	formAction   = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func hmacHex(secret string, b []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// TestAckFromNotifications: the Slack message and the e-mail of a
// notification carry links; opening one (as an unfurler or mail scanner
// does) changes nothing; the page's button acknowledges exactly that
// notification's alerts, with the reason chosen and the user recorded. A
// signed PagerDuty incident.acknowledged and a signed Slack button press
// acknowledge their alerts; bad signatures are refused and change nothing.
// An unknown reason is refused by the API.
func TestAckFromNotifications(t *testing.T) {
	const pdSecret, slackSecret = "pd-webhook-secret", "slack-signing-secret"
	fakes, env := newAckFakes(t)
	dir := ackConfigDir(t, "acknowledge:\n  pagerduty_webhook_secret: "+pdSecret+"\n  slack_signing_secret: "+slackSecret+"\n")
	a := startAppliance(t, dir, t.TempDir(), env)

	postAlerts(t, a, []amAlert{ackAlert("E2ELinked", "db-1"), ackAlert("E2ELinked", "db-2"), ackAlert("E2EBystander", "db-3"),
		ackAlert("E2EPaged", "db-4"), ackAlert("E2ESlacked", "db-5")})
	waitFor(t, 15*time.Second, "Slack and e-mail notifications with links", func() bool {
		return len(fakes.slackTexts(t, "E2ELinked")) > 0 && len(fakes.smtpd.to("db@e2e.example", "E2ELinked")) > 0 &&
			len(fakes.slackTexts(t, "E2ESlacked")) > 0 && len(decodeAll[pagerDutyEvent](t, fakes.pagerDuty)) >= 4
	})
	al := applianceAlerts(t, a)
	linked := []string{al["E2ELinked/db-1"].Fingerprint, al["E2ELinked/db-2"].Fingerprint}

	// The Slack link and the e-mail links name exactly the group's alerts.
	m := slackAckLink.FindStringSubmatch(fakes.slackTexts(t, "E2ELinked")[0])
	require.NotNil(t, m, "no Acknowledge link in the Slack text:\n%s", fakes.slackTexts(t, "E2ELinked")[0])
	slackLink := m[1]
	mail := fakes.smtpd.to("db@e2e.example", "E2ELinked")[0]
	mailLink := mailAckLink.FindStringSubmatch(mail.Text)
	require.NotNil(t, mailLink, mail.Text)
	require.Equal(t, slackLink, strings.Replace(mailLink[1], "r=db-email", "r=db-slack", 1))
	require.Contains(t, mail.HTML, `">Acknowledge</a>`)
	require.NotNil(t, mailSnooze.FindStringSubmatch(mail.Text))
	u, err := url.Parse(slackLink)
	require.NoError(t, err)
	require.ElementsMatch(t, linked, strings.Split(u.Query().Get("a"), "."))
	require.True(t, strings.HasPrefix(slackLink, a.web+"/ack?"), "points at the external URL: %s", slackLink)

	// Unfurlers and scanners: GET and HEAD show, change nothing.
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(method, slackLink, nil)
		req.Header.Set("User-Agent", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"))
		if method == http.MethodGet {
			require.Contains(t, string(body), "E2ELinked on db-1")
			require.Contains(t, string(body), "E2ELinked on db-2")
			require.NotContains(t, string(body), "E2EBystander")
			require.Contains(t, string(body), `id="ack-confirm"`)
		}
	}
	for k, al := range applianceAlerts(t, a) {
		require.Nil(t, al.Ack, "%s acknowledged by opening a link", k)
	}

	// The button: POST to the form's action with a reason.
	code, page := httpGet(slackLink)
	require.Equal(t, http.StatusOK, code)
	action := formAction.FindStringSubmatch(string(page))
	require.NotNil(t, action, "%s", page)
	target := a.web + strings.ReplaceAll(action[1], "&amp;", "&")
	resp, err := http.PostForm(target, url.Values{"reason": {"false_positive"}, "by": {"alice"}, "comment": {"flapping probe"}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "Acknowledge: 2 alert(s), by alice.")
	al = applianceAlerts(t, a)
	for _, k := range []string{"E2ELinked/db-1", "E2ELinked/db-2"} {
		require.NotNil(t, al[k].Ack, k)
		require.Equal(t, "alice", al[k].Ack.By)
		require.Equal(t, "false_positive", al[k].Ack.Reason)
		require.Equal(t, "link", al[k].Ack.Via)
	}
	for _, k := range []string{"E2EBystander/db-3", "E2EPaged/db-4", "E2ESlacked/db-5"} {
		require.Nil(t, al[k].Ack, "%s is not in the notification", k)
	}
	var hist struct {
		Data []struct{ User, Reason, Via string }
	}
	getJSON(t, a.web+"/api/v1/appliance/history?kind=ack", &hist)
	require.Len(t, hist.Data, 1)
	require.Equal(t, "alice", hist.Data[0].User)
	require.Equal(t, "false_positive", hist.Data[0].Reason)
	require.Equal(t, "link", hist.Data[0].Via)

	// An unknown reason is refused; a bad snooze too.
	code, body = postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprint": al["E2EBystander/db-3"].Fingerprint, "by": "bob", "reason": "bored"})
	require.Equal(t, http.StatusBadRequest, code, "%s", body)
	require.Contains(t, string(body), `unknown reason \"bored\"`)
	code, body = postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprint": al["E2EBystander/db-3"].Fingerprint, "by": "bob", "snooze": "soon"})
	require.Equal(t, http.StatusBadRequest, code, "%s", body)
	require.Nil(t, applianceAlerts(t, a)["E2EBystander/db-3"].Ack)

	// PagerDuty: the incident of E2EPaged is acknowledged there.
	var dedup string
	for _, e := range decodeAll[pagerDutyEvent](t, fakes.pagerDuty) {
		if strings.HasPrefix(e.Payload.Summary, "E2EPaged") {
			dedup = e.DedupKey
		}
	}
	require.NotEmpty(t, dedup)
	pd := []byte(fmt.Sprintf(`{"event":{"id":"01E2E","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2026-12-01T11:00:00Z","agent":{"summary":"Dana Oncall","type":"user_reference"},"data":{"id":"Q1","type":"incident","incident_key":%q,"html_url":"https://acme.pagerduty.com/incidents/Q1"}}}`, dedup))
	pdPost := func(sig string, b []byte) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, a.web+"/api/v1/appliance/webhooks/pagerduty", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-PagerDuty-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, s := pdPost("v1="+hmacHex("not-the-secret", pd), pd)
	require.Equal(t, http.StatusUnauthorized, code, s)
	code, s = pdPost("v1="+hmacHex(pdSecret, pd), append(pd, ' '))
	require.Equal(t, http.StatusUnauthorized, code, "a body changed after signing: %s", s)
	require.Nil(t, applianceAlerts(t, a)["E2EPaged/db-4"].Ack, "a refused webhook changes nothing")
	code, s = pdPost("v1="+hmacHex(pdSecret, pd), pd)
	require.Equal(t, http.StatusOK, code, s)
	paged := applianceAlerts(t, a)["E2EPaged/db-4"]
	require.NotNil(t, paged.Ack)
	require.Equal(t, "PagerDuty: Dana Oncall", paged.Ack.By)
	require.Equal(t, "pagerduty", paged.Ack.Via)
	require.Nil(t, applianceAlerts(t, a)["E2EBystander/db-3"].Ack)
	// Un-acknowledged in PagerDuty: the ack PagerDuty made goes.
	un := bytes.Replace(pd, []byte("incident.acknowledged"), []byte("incident.unacknowledged"), 1)
	code, s = pdPost("v1="+hmacHex(pdSecret, un), un)
	require.Equal(t, http.StatusOK, code, s)
	require.Nil(t, applianceAlerts(t, a)["E2EPaged/db-4"].Ack)
	// Resolved in PagerDuty: acknowledged here (it stops escalation; the
	// alert resolves when its source says so). Other events are taken
	// and ignored.
	res := bytes.Replace(pd, []byte("incident.acknowledged"), []byte("incident.resolved"), 1)
	code, s = pdPost("v1="+hmacHex(pdSecret, res), res)
	require.Equal(t, http.StatusOK, code, s)
	paged = applianceAlerts(t, a)["E2EPaged/db-4"]
	require.NotNil(t, paged.Ack)
	require.Contains(t, paged.Ack.Comment, "resolved in PagerDuty")
	// An ack made in the console is not PagerDuty's to remove.
	code, body = postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprint": paged.Fingerprint, "by": "bob"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	code, s = pdPost("v1="+hmacHex(pdSecret, un), un)
	require.Equal(t, http.StatusOK, code, s)
	require.Equal(t, "bob", applianceAlerts(t, a)["E2EPaged/db-4"].Ack.By)
	other := bytes.Replace(pd, []byte("incident.acknowledged"), []byte("incident.priority_updated"), 1)
	code, s = pdPost("v1="+hmacHex(pdSecret, other), other)
	require.Equal(t, http.StatusOK, code, s)
	require.Contains(t, s, "ignored")

	// Slack: a signed button press acknowledges; a stale or bad one not.
	slacked := applianceAlerts(t, a)["E2ESlacked/db-5"].Fingerprint
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]string{"id": "U1", "username": "erin"},
		"actions": []map[string]string{{"action_id": "smm_ack", "value": "ack db-slack " + slacked}}})
	form := []byte("payload=" + url.QueryEscape(string(payload)))
	slackPost := func(ts time.Time, secret string) (int, string) {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, a.web+"/api/v1/appliance/webhooks/slack", bytes.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", "v0="+hmacHex(secret, []byte("v0:"+stamp+":"+string(form))))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, s = slackPost(time.Now(), "wrong")
	require.Equal(t, http.StatusUnauthorized, code, s)
	code, s = slackPost(time.Now().Add(-10*time.Minute), slackSecret)
	require.Equal(t, http.StatusUnauthorized, code, "replayed: %s", s)
	require.Nil(t, applianceAlerts(t, a)["E2ESlacked/db-5"].Ack)
	code, s = slackPost(time.Now(), slackSecret)
	require.Equal(t, http.StatusOK, code, s)
	require.Contains(t, s, "Acknowledged 1 alert(s), by erin.")
	sl := applianceAlerts(t, a)["E2ESlacked/db-5"]
	require.NotNil(t, sl.Ack)
	require.Equal(t, "slack:erin", sl.Ack.By)
	require.Equal(t, "slack", sl.Ack.Via)

	// A snooze from Slack; an ack with an explicit end from the API.
	bystander := applianceAlerts(t, a)["E2EBystander/db-3"].Fingerprint
	payload, _ = json.Marshal(map[string]any{"type": "interactive_message", "user": map[string]string{"id": "U2", "name": "frank"},
		"actions": []map[string]string{{"name": "smm_ack", "value": "snooze db-slack " + bystander}}})
	form = []byte("payload=" + url.QueryEscape(string(payload)))
	code, s = slackPost(time.Now(), slackSecret)
	require.Equal(t, http.StatusOK, code, s)
	require.Contains(t, s, `"response_type":"ephemeral"`)
	by := applianceAlerts(t, a)["E2EBystander/db-3"].Ack
	require.NotNil(t, by)
	require.Equal(t, "slack:frank", by.By)
	require.WithinDuration(t, time.Now().Add(time.Hour), by.Until, time.Minute)
	until := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	code, body = postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprint": bystander, "by": "gus", "until": until})
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.True(t, until.Equal(applianceAlerts(t, a)["E2EBystander/db-3"].Ack.Until))
	var ackHist struct {
		Data []struct {
			User  string
			Until *time.Time
		}
	}
	getJSON(t, a.web+"/api/v1/appliance/history?kind=ack", &ackHist)
	require.Equal(t, "gus", ackHist.Data[0].User)
	require.NotNil(t, ackHist.Data[0].Until)
	require.True(t, until.Equal(*ackHist.Data[0].Until))

	// Counted per alert name, team, reason and channel; MTTA per channel.
	_, metrics := httpGet(a.web + "/metrics")
	for _, want := range []string{
		`smm_appliance_alert_acks_total{alertname="E2ELinked",reason="false_positive",team="database",via="link"} 2`,
		`smm_appliance_alert_acks_total{alertname="E2EPaged",reason="working_on_it",team="database",via="pagerduty"} 2`,
		`smm_appliance_alert_acks_total{alertname="E2ESlacked",reason="working_on_it",team="database",via="slack"} 1`,
		`smm_appliance_alert_acknowledge_seconds_count{alertname="E2ELinked",severity="critical",team="database",via="link"} 2`,
		`smm_appliance_alert_acknowledge_seconds_count{alertname="E2EPaged",severity="critical",team="database",via="pagerduty"} 2`,
	} {
		require.Contains(t, string(metrics), want)
	}
}

// TestAckSnoozeRenotifies: a snooze (a short one, as the API allows) lapses
// with the alert still firing: the alert is unacknowledged again, the
// history says so, and the team gets the notification again — which the
// dispatcher alone would not send before repeat_interval (4h here).
func TestAckSnoozeRenotifies(t *testing.T) {
	fakes, env := newAckFakes(t)
	a := startAppliance(t, ackConfigDir(t, ""), t.TempDir(), env)
	postAlerts(t, a, []amAlert{ackAlert("E2ESnoozed", "db-1")})
	waitFor(t, 15*time.Second, "the first notification", func() bool { return len(fakes.slackTexts(t, "E2ESnoozed")) == 1 })
	fp := applianceAlerts(t, a)["E2ESnoozed/db-1"].Fingerprint

	code, body := postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprint": fp, "by": "alice", "reason": "working_on_it", "snooze": "2s"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	snoozed := applianceAlerts(t, a)["E2ESnoozed/db-1"]
	require.NotNil(t, snoozed.Ack)
	require.WithinDuration(t, time.Now().Add(2*time.Second), snoozed.Ack.Until, time.Second)

	waitFor(t, 10*time.Second, "the notification again after the snooze", func() bool { return len(fakes.slackTexts(t, "E2ESnoozed")) == 2 })
	require.Nil(t, applianceAlerts(t, a)["E2ESnoozed/db-1"].Ack, "unacknowledged once the snooze lapsed")
	require.Contains(t, fakes.slackTexts(t, "E2ESnoozed")[1], "/ack?", "the reminder carries links too")
	var hist struct {
		Data []struct {
			Kind   string
			Alerts []struct{ Fingerprint, Status string }
		}
	}
	getJSON(t, a.web+"/api/v1/appliance/history?kind=snooze_lapsed", &hist)
	require.Len(t, hist.Data, 1)
	require.Equal(t, fp, hist.Data[0].Alerts[0].Fingerprint)
	require.Equal(t, "firing", hist.Data[0].Alerts[0].Status)
	// Once: no second reminder.
	require.Never(t, func() bool { return len(fakes.slackTexts(t, "E2ESnoozed")) > 2 }, 2500*time.Millisecond, 250*time.Millisecond)
}
