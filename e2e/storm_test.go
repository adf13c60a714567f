package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stormAlerts are alerts [from, to) of one kind, one per agent, as a
// failing dependency raises them.
func stormAlerts(alertname string, from, to int) []map[string]any {
	var out []map[string]any
	for i := from; i < to; i++ {
		out = append(out, map[string]any{
			"labels": map[string]string{
				"alertname": alertname, "severity": "warning", "team": "agent", "service": "smm-agents",
				"agent": fmt.Sprintf("agent-%03d", i), "instance": fmt.Sprintf("10.0.%d.%d:9102", i/250, i%250),
			},
			"annotations": map[string]string{
				"summary":     "Agent failure rate high",
				"description": "Agents fail more than 10% of their tasks.",
				"runbook_url": "https://wiki.smm-architect.com/runbooks/" + alertname,
			},
		})
	}
	return out
}

// TestNotificationStorm: 300 warnings of one kind (one per agent) arrive
// within a second, and 100 more once the first message is out. With the
// shipped grouping (alertname, service, team) each receiver the team routing
// gives them (platform-slack, agent-slack) gets one message listing the
// affected agents, and then at most one per group_interval: never one per
// agent. The shipped warning timings are shortened on the test's copy
// (group_wait 10s -> 2s, group_interval 5m -> 4s) so that the bound is
// measured over several intervals in seconds.
func TestNotificationStorm(t *testing.T) {
	const (
		alertname     = "E2E_StormAgentFailure"
		groupInterval = 4 * time.Second
	)
	slack := newFakeSlack(t, "unused")
	env := map[string]string{
		"SLACK_BOT_TOKEN":            "",
		"SLACK_WEBHOOK_URL":          "",
		"SLACK_WEBHOOK_URL_PLATFORM": slack.hooks + "/services/T0/B0/platform",
		"SLACK_WEBHOOK_URL_AGENT":    slack.hooks + "/services/T0/B0/agent",
	}
	dir := shippedConfigDir(t, "slack", nil,
		[2]string{"group_wait: 10s\n      group_interval: 5m\n", "group_wait: 2s\n      group_interval: 4s\n"})
	a := startAppliance(t, dir, t.TempDir(), env)

	start := time.Now()
	for from := 0; from < 300; from += 100 {
		code, body := postJSON(t, a.am+"/api/v2/alerts", stormAlerts(alertname, from, from+100))
		require.Equal(t, http.StatusOK, code, "%s", body)
	}
	t.Logf("300 alerts posted in %s", time.Since(start).Round(time.Millisecond))
	var posts []slackPost
	waitFor(t, 15*time.Second, "the first message per receiver", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= 2
	})
	code, body := postJSON(t, a.am+"/api/v2/alerts", stormAlerts(alertname, 300, 400))
	require.Equal(t, http.StatusOK, code, "%s", body)
	waitFor(t, 15*time.Second, "the update per receiver", func() bool {
		posts, _ = slack.received(alertname)
		return len(posts) >= 4
	})
	// Observe two more intervals: nothing changes, so nothing is sent.
	end := time.Now().Add(2*groupInterval + time.Second)
	for time.Now().Before(end) {
		posts, _ = slack.received(alertname)
		require.LessOrEqual(t, len(posts), 4, "a message while the group did not change")
		time.Sleep(200 * time.Millisecond)
	}
	window := time.Since(start)

	posts, bad := slack.received(alertname)
	require.Empty(t, bad)
	byChannel := map[string][]slackPost{}
	for _, p := range posts {
		byChannel[p.Channel] = append(byChannel[p.Channel], p)
	}
	require.ElementsMatch(t, []string{"#smm-platform-alerts", "#smm-agent-alerts"}, keys(byChannel))
	for ch, ps := range byChannel {
		require.Len(t, ps, 2, "%s: one message, then one update", ch)
		require.LessOrEqual(t, float64(len(ps)), 1+window.Seconds()/groupInterval.Seconds(), "%s: at most one message per group_interval", ch)
		gap := ps[1].At.Sub(ps[0].At)
		require.GreaterOrEqual(t, gap, groupInterval-100*time.Millisecond, "%s: messages %s apart", ch, gap)
		first, second := ps[0].Msg.Attachments[0].Text, ps[1].Msg.Attachments[0].Text
		require.Contains(t, first, "Affected (300 firing):\n", ch)
		require.Contains(t, first, "\n- and 290 more\n", ch)
		require.Contains(t, second, "Affected (400 firing):\n", ch)
		require.Contains(t, second, "\n- and 390 more\n", ch)
		require.Contains(t, first, "- agent=agent-000, instance=10.0.0.0:9102\n")
		require.Equal(t, "[FIRING:300] "+alertname+" (warning)", ps[0].Msg.Attachments[0].Title)
		require.Less(t, len(first), 3000, "%s: one bounded message", ch)
		t.Logf("%s: %d messages for 400 alerts in %s (group_interval %s), %s apart, %d bytes",
			ch, len(ps), window.Round(time.Second), groupInterval, gap.Round(time.Millisecond), len(first))
	}
	require.Equal(t, 1, strings.Count(posts[0].Msg.Attachments[0].Text, "Silence this group"))
	a.stop()
}
