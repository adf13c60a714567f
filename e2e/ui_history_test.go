package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestUIHistoryReadable: a notification row names its alerts with the
// labels that tell them apart, the receiver's channel, the message as
// rendered (secrets removed) and, for a failure, the error; the history
// filters by team and by alert labels.
func TestUIHistoryReadable(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	a := startAppliance(t, copyConfig(t, "basic"), t.TempDir(), basicEnv(exp, hook))
	requireConsole(t, a)
	end := time.Now().Add(time.Hour)
	mk := func(name, team string, extra ...string) amAlert {
		l := map[string]string{"alertname": name, "severity": "warning", "team": team}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return amAlert{Labels: l, EndsAt: end, Annotations: map[string]string{"summary": name + " summary"}}
	}
	postAlerts(t, a, []amAlert{
		mk("ConnectorAuthFailing", "connectors", "connector", "linkedin"),
		mk("ConnectorAuthFailing", "connectors", "connector", "tiktok"),
		mk("E2ESlackFails", "nobody"), // the slack receiver: its URL does not resolve
	})
	waitFor(t, 30*time.Second, "both notifications recorded", func() bool {
		return len(historyOf(t, a, "alertname=ConnectorAuthFailing&kind=notification")) > 0 && len(historyOf(t, a, "alertname=E2ESlackFails&status=failure")) > 0
	})

	b := newUIBrowser(t, a.web)
	b.open(t, "#/notifications?kind=notification")
	row := func(name string) string {
		return `[...document.querySelectorAll('#history-table tbody tr')].find(r => r.textContent.includes('` + name + `'))`
	}
	b.wait(t, 20*time.Second, "rows", row("ConnectorAuthFailing")+` && `+row("E2ESlackFails"))
	conn := eval[string](t, b, row("ConnectorAuthFailing")+`.textContent`)
	require.Contains(t, conn, "connector=linkedin")
	require.Contains(t, conn, "connector=tiktok")
	require.Contains(t, eval[string](t, b, row("ConnectorAuthFailing")+`.querySelector('.hist-channel').textContent`), "webhook")
	msg := eval[string](t, b, row("ConnectorAuthFailing")+`.querySelector('.hist-message pre').textContent`)
	require.Contains(t, msg, `"connector":"tiktok"`, "the webhook body as sent")
	require.NotContains(t, msg, hook.srv.URL, "the webhook URL is a secret")

	fail := eval[string](t, b, row("E2ESlackFails")+`.innerText`)
	require.Contains(t, fail, "failed")
	require.Contains(t, fail, "Slack #e2e")
	require.NotEmpty(t, eval[string](t, b, row("E2ESlackFails")+`.querySelector('.err-text').textContent`), "the error")
	require.NotContains(t, eval[string](t, b, `document.getElementById('history-table').textContent`), "slack-secret-marker", "the Slack URL is a secret")
	b.screenshot(t, "notifications-readable", true)

	// Filter by team.
	b.wait(t, 10*time.Second, "team options", `[...document.getElementById('hist-team').options].some(o => o.value === 'nobody')`)
	eval[chromedp.Void](t, b, `(() => { const s = document.getElementById('hist-team'); s.value = 'nobody'; s.dispatchEvent(new Event('change')); })()`)
	b.wait(t, 15*time.Second, "team nobody only", `location.hash.includes('team=nobody') && document.querySelectorAll('#history-table tbody tr').length > 0 &&
		[...document.querySelectorAll('#history-table tbody tr')].every(r => r.textContent.includes('E2ESlackFails'))`)
	eval[chromedp.Void](t, b, `(() => { const s = document.getElementById('hist-team'); s.value = ''; s.dispatchEvent(new Event('change')); })()`)

	// Filter by alert labels.
	b.typeInto(t, "#hist-matchers", `connector=~"tik.*"`)
	b.wait(t, 15*time.Second, "connector tiktok only", `location.hash.includes('matchers=') && document.querySelectorAll('#history-table tbody tr').length > 0 &&
		[...document.querySelectorAll('#history-table tbody tr')].every(r => r.textContent.includes('connector=tiktok'))`)
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}
