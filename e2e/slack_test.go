package e2e

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeSlack stands in for the Slack API, in both ways the shipped
// alertmanager.yml posts:
//   - bot token: chat.postMessage at https://slack.com/api/chat.postMessage.
//     The appliance reaches it through HTTPS_PROXY (the shipped Slack items
//     set proxy_from_environment): proxy answers CONNECT slack.com:443 by
//     piping to a TLS server whose certificate for slack.com is in caFile
//     (the appliance trusts it through SSL_CERT_FILE). The shipped file thus
//     runs unchanged: Alertmanager allows post_updates_to_thread only with
//     that exact URL. It checks Authorization: Bearer and a JSON channel,
//     and answers as Slack does, with a channel ID and a message ts.
//   - webhooks: POSTs to /services/<name> on hooks, plain text "ok"; a
//     webhook request carries no Authorization.
//
// A request it cannot accept is answered with an error and recorded as bad.
type fakeSlack struct {
	token  string
	proxy  string // http://host:port, for HTTPS_PROXY
	hooks  string // base URL of the webhook endpoint
	caFile string

	mu       sync.Mutex
	posts    []slackPost
	bad      []string
	throttle map[string]int // path -> number of 429 answers still to give
	ts       int
}

// slackPost is one accepted post.
type slackPost struct {
	At       time.Time
	Mode     string // "bot" or "webhook"
	Path     string // webhook path (/services/...), or the API path
	Channel  string // as posted: a name (#smm-…) or, for a thread reply, the ID
	ThreadTS string
	TS       string // the ts the fake answered (bot mode)
	Status   int
	Msg      slackMessage
}

// slackChannelID is the ID the fake gives a channel name, as Slack does.
func slackChannelID(name string) string {
	return "C" + strings.ToUpper(strings.NewReplacer("#smm-", "", "-alerts", "", "-", "").Replace(name))
}

func newFakeSlack(t *testing.T, token string) *fakeSlack {
	t.Helper()
	f := &fakeSlack{token: token, throttle: map[string]int{}}
	api := http.HandlerFunc(f.serve)

	// Webhooks: plain HTTP on loopback (a proxy is never used for it).
	hooks := httptest.NewServer(api)
	t.Cleanup(hooks.Close)
	f.hooks = hooks.URL

	// The API, as https://slack.com, behind the CONNECT proxy.
	cert, certPEM := selfSignedCert(t, "slack.com", []string{"slack.com"})
	f.caFile = filepath.Join(t.TempDir(), "slack-ca.pem")
	require.NoError(t, os.WriteFile(f.caFile, certPEM, 0o600))
	tlsSrv := httptest.NewUnstartedServer(api)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	target := tlsSrv.Listener.Addr().String()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != "slack.com:443" {
			f.reject(w, "proxy: unexpected "+r.Method+" "+r.Host)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			up.Close()
			http.Error(w, "no hijack", http.StatusInternalServerError)
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		go func() { _, _ = io.Copy(conn, up); conn.Close() }()
	}))
	t.Cleanup(proxy.Close)
	f.proxy = proxy.URL
	return f
}

func (f *fakeSlack) reject(w http.ResponseWriter, why string) {
	f.mu.Lock()
	f.bad = append(f.bad, why)
	f.mu.Unlock()
	http.Error(w, why, http.StatusBadRequest)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		f.reject(w, "want a POST")
		return
	}
	var msg slackMessage
	var req struct {
		Channel  string `json:"channel"`
		ThreadTS string `json:"thread_ts"`
	}
	if json.Unmarshal(body, &msg) != nil || json.Unmarshal(body, &req) != nil {
		f.reject(w, "want JSON: "+string(body))
		return
	}
	p := slackPost{At: time.Now(), Path: r.URL.Path, Channel: req.Channel, ThreadTS: req.ThreadTS, Msg: msg}
	switch {
	case r.TLS != nil && r.URL.Path == "/api/chat.postMessage":
		p.Mode = "bot"
		if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
			f.reject(w, "bot post with Authorization "+strconv.Quote(got))
			return
		}
		if req.Channel == "" {
			f.reject(w, "bot post without channel")
			return
		}
	case r.TLS == nil && strings.HasPrefix(r.URL.Path, "/services/"):
		p.Mode = "webhook"
		if got := r.Header.Get("Authorization"); got != "" {
			f.reject(w, "webhook post with Authorization "+got)
			return
		}
	default:
		f.reject(w, "unexpected "+r.URL.String())
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.throttle[r.URL.Path] > 0 {
		f.throttle[r.URL.Path]--
		p.Status = http.StatusTooManyRequests
		f.posts = append(f.posts, p)
		w.Header().Set("Retry-After", "3")
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
		return
	}
	p.Status = http.StatusOK
	if p.Mode == "webhook" {
		f.posts = append(f.posts, p)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
		return
	}
	f.ts++
	p.TS = strconv.Itoa(1700000000+f.ts) + ".000100"
	f.posts = append(f.posts, p)
	id := req.Channel
	if strings.HasPrefix(id, "#") {
		id = slackChannelID(id)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": id, "ts": p.TS})
}

// received returns the posts so far whose title names alertname (the
// appliance's own alerts may post too), and the requests it rejected.
func (f *fakeSlack) received(alertname string) (posts []slackPost, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.posts {
		if len(p.Msg.Attachments) == 1 && strings.Contains(p.Msg.Attachments[0].Title, "] "+alertname+" (") {
			posts = append(posts, p)
		}
	}
	return posts, append([]string(nil), f.bad...)
}

// slackTeams are the teams with a Slack channel, and the channels the
// TEAM ROUTING table of the shipped alertmanager.yml sends their criticals to.
var slackTeams = map[string][]string{
	"platform":  {"#smm-platform-alerts"},
	"connector": {"#smm-connector-alerts", "#smm-platform-alerts"},
	"agent":     {"#smm-agent-alerts", "#smm-platform-alerts"},
	"ml":        {"#smm-ml-alerts", "#smm-platform-alerts"},
	"finance":   {"#smm-finance-alerts", "#smm-platform-alerts"},
	"database":  {"#smm-database-alerts", "#smm-platform-alerts"},
	"security":  {"#smm-security-alerts"},
	"business":  {"#smm-business-alerts"},
}

// slackAlerts is one critical alert per team of slackTeams.
func slackAlerts(alertname string, endsAt time.Time) []map[string]any {
	var out []map[string]any
	for team := range slackTeams {
		a := map[string]any{
			"labels": map[string]string{"alertname": alertname, "severity": "critical", "team": team, "service": "smm-e2e-" + team},
			"annotations": map[string]string{
				"summary": "E2E Slack check for " + team, "description": "posted by the e2e test",
				"runbook_url": "https://wiki.smm-architect.com/runbooks/" + alertname, "dashboard_url": "https://grafana.smm-architect.com/d/e2e",
			},
		}
		if !endsAt.IsZero() {
			a["endsAt"] = endsAt.Format(time.RFC3339Nano)
		}
		out = append(out, a)
	}
	return out
}

// slackConfigDir is the shipped alertmanager.yml and templates with the
// critical branch's group_interval 1m made 2s, so that a resolution is sent
// seconds after it instead of a minute.
func slackConfigDir(t *testing.T) string {
	return shippedConfigDir(t, "slack", nil,
		[2]string{"group_wait: 5s\n      group_interval: 1m\n", "group_wait: 5s\n      group_interval: 2s\n"})
}

// teamOf is the team an E2E Slack post is about (its summary names it).
func teamOf(p slackPost) string {
	_, team, _ := strings.Cut(p.Msg.Attachments[0].Text, "E2E Slack check for ")
	team, _, _ = strings.Cut(team, "*")
	return team
}

// TestSlackBotToken: with SLACK_BOT_TOKEN set (and the shared webhook too,
// as a site moving to the bot would have it), each team's critical reaches
// that team's own channel by chat.postMessage with the token, once per
// channel and never also by webhook; the eight team channels are all
// reached; an update of a group and its resolution are replies in the
// thread of the group's first post.
func TestSlackBotToken(t *testing.T) {
	const alertname = "E2E_SlackBotToken"
	slack := newFakeSlack(t, "xoxb-e2e-bot-token")
	env := map[string]string{
		"SLACK_BOT_TOKEN":   slack.token,
		"SLACK_WEBHOOK_URL": slack.hooks + "/services/T0/B0/shared",
		"HTTPS_PROXY":       slack.proxy,
		"SSL_CERT_FILE":     slack.caFile,
	}
	a := startAppliance(t, slackConfigDir(t), t.TempDir(), env)

	// Bot items in force, the webhook items their unused alternatives.
	var status struct {
		Data struct {
			Channels []channelStatus `json:"channels"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/status", &status)
	slackItems := 0
	for _, ch := range status.Data.Channels {
		if ch.Integration != "slack" {
			continue
		}
		slackItems++
		if ch.Index == 0 {
			require.True(t, ch.Enabled, "%+v", ch)
		} else {
			require.Equal(t, "slack[0]", ch.ReplacedBy, "%+v", ch)
		}
	}
	require.Equal(t, 16, slackItems)

	code, body := postJSON(t, a.am+"/api/v2/alerts", slackAlerts(alertname, time.Time{}))
	require.Equal(t, http.StatusOK, code, "%s", body)

	want := 0
	for _, chans := range slackTeams {
		want += len(chans)
	}
	var posts []slackPost
	waitFor(t, 20*time.Second, "a firing post per team channel", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= want
	})
	posts, bad := slack.received(alertname)
	require.Empty(t, bad)
	require.Len(t, posts, want, "exactly one post per team notification")
	firing := map[string]slackPost{} // team/channel -> post
	seen := map[string]bool{}
	for _, p := range posts {
		require.Equal(t, "bot", p.Mode, "%+v", p)
		require.Empty(t, p.ThreadTS)
		require.Equal(t, "danger", p.Msg.Attachments[0].Color)
		key := teamOf(p) + "/" + p.Channel
		require.NotContains(t, firing, key, "two posts for %s", key)
		firing[key] = p
		seen[p.Channel] = true
	}
	for team, chans := range slackTeams {
		for _, ch := range chans {
			require.Contains(t, firing, team+"/"+ch)
		}
	}
	require.Len(t, seen, 8, "eight distinct channels: %v", seen)
	t.Logf("bot mode: %d firing posts to channels %v", len(posts), keys(seen))

	// A second platform alert joins the platform group: the update is a
	// reply in the thread of the group's first post.
	second := func(endsAt time.Time) map[string]any {
		for _, a := range slackAlerts(alertname, endsAt) {
			if l := a["labels"].(map[string]string); l["team"] == "platform" {
				l["instance"] = "second"
				return a
			}
		}
		panic("no platform alert")
	}
	code, body = postJSON(t, a.am+"/api/v2/alerts", []map[string]any{second(time.Time{})})
	require.Equal(t, http.StatusOK, code, "%s", body)
	waitFor(t, 20*time.Second, "the platform group's update", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= want+1
	})
	posts, _ = slack.received(alertname)
	update := posts[want]
	require.Equal(t, "[FIRING:2] "+alertname+" (critical)", update.Msg.Attachments[0].Title)
	require.Equal(t, slackChannelID("#smm-platform-alerts"), update.Channel)
	require.Equal(t, firing["platform/#smm-platform-alerts"].TS, update.ThreadTS)

	// Resolved: a reply in the firing post's thread, in that channel.
	code, body = postJSON(t, a.am+"/api/v2/alerts", append(slackAlerts(alertname, time.Now().Add(-time.Second)), second(time.Now().Add(-time.Second))))
	require.Equal(t, http.StatusOK, code, "%s", body)
	waitFor(t, 20*time.Second, "a resolved reply per firing post", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= 2*want+1
	})
	posts, bad = slack.received(alertname)
	require.Empty(t, bad)
	require.Len(t, posts, 2*want+1)
	for _, p := range posts[want+1:] {
		require.Equal(t, "bot", p.Mode)
		require.Equal(t, "good", p.Msg.Attachments[0].Color)
		require.Contains(t, p.Msg.Attachments[0].Title, "[RESOLVED]")
		require.NotContains(t, p.Msg.Attachments[0].Text, "ilence", "a resolved post offers no Silence")
		var parent *slackPost
		for _, f := range firing {
			if teamOf(f) == teamOf(p) && slackChannelID(f.Channel) == p.Channel {
				parent = &f
			}
		}
		require.NotNil(t, parent, "resolved post %+v answers no firing post", p)
		require.Equal(t, parent.TS, p.ThreadTS, "the resolution is a reply in the firing post's thread")
	}
	a.stop()
}

// TestSlackWebhooks: without a bot token, each team posts to its own
// SLACK_WEBHOOK_URL_<TEAM>, and a team without one to SLACK_WEBHOOK_URL;
// a webhook cannot thread, so the resolution is a post of its own.
func TestSlackWebhooks(t *testing.T) {
	const alertname = "E2E_SlackWebhooks"
	slack := newFakeSlack(t, "unused")
	env := map[string]string{
		"SLACK_BOT_TOKEN":   "",
		"SLACK_WEBHOOK_URL": slack.hooks + "/services/T0/B0/shared",
	}
	hookOf := map[string]string{} // channel -> webhook path
	for team, chans := range slackTeams {
		ch := chans[0]
		hookOf[ch] = "/services/T0/B0/shared"
		if team != "business" { // business falls back to the shared webhook
			hookOf[ch] = "/services/T0/B0/" + team
			env["SLACK_WEBHOOK_URL_"+strings.ToUpper(team)] = slack.hooks + hookOf[ch]
		}
	}
	a := startAppliance(t, slackConfigDir(t), t.TempDir(), env)

	code, body := postJSON(t, a.am+"/api/v2/alerts", slackAlerts(alertname, time.Time{}))
	require.Equal(t, http.StatusOK, code, "%s", body)
	want := 0
	for _, chans := range slackTeams {
		want += len(chans)
	}
	var posts []slackPost
	waitFor(t, 20*time.Second, "a firing post per team channel", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= want
	})
	code, body = postJSON(t, a.am+"/api/v2/alerts", slackAlerts(alertname, time.Now().Add(-time.Second)))
	require.Equal(t, http.StatusOK, code, "%s", body)
	waitFor(t, 20*time.Second, "a resolved post per channel", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= 2*want
	})
	posts, bad := slack.received(alertname)
	require.Empty(t, bad)
	require.Len(t, posts, 2*want)
	got := map[string]int{} // team/channel/status -> posts
	paths := map[string]bool{}
	for _, p := range posts {
		require.Equal(t, "webhook", p.Mode)
		require.Empty(t, p.ThreadTS, "a webhook cannot thread")
		require.Equal(t, hookOf[p.Channel], p.Path, "post for %s on the wrong webhook", p.Channel)
		got[teamOf(p)+"/"+p.Channel+"/"+p.Msg.Attachments[0].Color]++
		paths[p.Path] = true
	}
	for team, chans := range slackTeams {
		for _, ch := range chans {
			require.Equal(t, 1, got[team+"/"+ch+"/danger"], "firing %s/%s", team, ch)
			require.Equal(t, 1, got[team+"/"+ch+"/good"], "resolved %s/%s", team, ch)
		}
	}
	require.Len(t, paths, 8, "eight distinct webhooks: %v", paths)
	t.Logf("webhook mode: %d posts to webhooks %v", len(posts), keys(paths))
	a.stop()
}

// TestSlackRateLimited: Slack answers the first post with 429 and
// Retry-After: 3. The message arrives once, no sooner than 3 s after the
// refusal, through the appliance's observed integrations; the notification
// history and the metrics show the refused attempt and the retry.
func TestSlackRateLimited(t *testing.T) {
	const alertname = "E2E_SlackRateLimited"
	slack := newFakeSlack(t, "unused")
	slack.throttle["/services/T0/B0/business"] = 1
	env := map[string]string{
		"SLACK_BOT_TOKEN":            "",
		"SLACK_WEBHOOK_URL":          "",
		"SLACK_WEBHOOK_URL_BUSINESS": slack.hooks + "/services/T0/B0/business",
	}
	a := startAppliance(t, slackConfigDir(t), t.TempDir(), env)
	code, body := postJSON(t, a.am+"/api/v2/alerts", []map[string]any{{
		"labels":      map[string]string{"alertname": alertname, "severity": "critical", "team": "business", "service": "smm-e2e"},
		"annotations": map[string]string{"summary": "rate limited"},
	}})
	require.Equal(t, http.StatusOK, code, "%s", body)

	var posts []slackPost
	waitFor(t, 30*time.Second, "the post after the 429", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= 2
	})
	history := func() []timedHistoryEntry {
		return timedHistory(t, a, url.Values{"receiver": {"business-slack"}, "alertname": {alertname}})
	}
	waitFor(t, 10*time.Second, "both attempts in the history", func() bool { return len(history()) >= 2 })
	posts, bad := slack.received(alertname)
	require.Empty(t, bad)
	require.Len(t, posts, 2, "one refused, one delivered: %+v", posts)
	require.Equal(t, http.StatusTooManyRequests, posts[0].Status)
	require.Equal(t, http.StatusOK, posts[1].Status)
	delay := posts[1].At.Sub(posts[0].At)
	require.GreaterOrEqual(t, delay, 3*time.Second, "the retry waits for Retry-After")
	t.Logf("429 then 200: retried after %s", delay.Round(time.Millisecond))

	h := history() // newest first
	require.Len(t, h, 2)
	require.False(t, h[1].Success)
	require.Equal(t, 1, h[1].Attempt)
	require.Contains(t, h[1].Error, "429")
	require.True(t, h[0].Success)
	require.Equal(t, 2, h[0].Attempt)
	require.GreaterOrEqual(t, h[0].Time.Sub(h[1].Time), 3*time.Second)

	// Upstream's counters (business-slack is the only Slack channel on) and
	// the appliance's per-receiver ones: two requests, one refused, one
	// notification, none lost.
	require.Equal(t, 2.0, metricValue(t, a, "alertmanager_notification_requests_total", `integration="slack"`))
	require.Equal(t, 1.0, metricValue(t, a, "alertmanager_notification_requests_failed_total", `integration="slack"`))
	require.Equal(t, 1.0, metricValue(t, a, "alertmanager_notifications_total", `integration="slack"`))
	require.Equal(t, 0.0, metricValue(t, a, "alertmanager_notifications_failed_total", `integration="slack"`))
	require.Equal(t, 1.0, metricValue(t, a, "smm_appliance_notification_attempts_total", `receiver="business-slack"`, `outcome="failure"`))
	require.Equal(t, 1.0, metricValue(t, a, "smm_appliance_notification_attempts_total", `receiver="business-slack"`, `outcome="success"`))
	a.stop()
	posts, _ = slack.received(alertname)
	require.Len(t, posts, 2, "delivered once")
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
