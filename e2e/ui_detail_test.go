package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestUIAlertDetail: #/alerts/<fingerprint> shows the alert's description,
// runbook and dashboard links, its rule expression with the current value,
// who acked it and why, the silences that match, and its notification
// history; the notification history links to it.
func TestUIAlertDetail(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	a := startAppliance(t, copyConfig(t, "basic"), t.TempDir(), basicEnv(exp, hook))
	requireConsole(t, a)
	exp.set("e2e_value", 42)
	postAlerts(t, a, []amAlert{{
		Labels: map[string]string{"alertname": "E2EDetail", "severity": "warning", "team": "billing", "workspace": "acme"},
		Annotations: map[string]string{
			"summary":       "Campaign budget burn above 5x",
			"description":   "Workspace acme spends its monthly budget in six days.",
			"runbook_url":   "https://runbooks.smm.example/E2EDetail",
			"dashboard_url": "https://grafana.smm.example/d/budget",
		},
		StartsAt:     time.Now().Add(-7 * time.Minute),
		EndsAt:       time.Now().Add(time.Hour),
		GeneratorURL: a.web + "/graph?g0.expr=" + url.QueryEscape(`e2e_value > 10`),
	}})
	fp := amAlertFP(t, a, "E2EDetail")
	waitFor(t, 30*time.Second, "E2EDetail notified", func() bool { return len(hook.matching("E2EDetail", "firing")) > 0 })
	waitFor(t, 30*time.Second, "e2e_value scraped", func() bool { return len(query(t, a, "e2e_value", time.Now())) > 0 })
	code, body := postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": []string{fp}, "by": "carol", "comment": "rolling back the bid change"})
	require.Equal(t, http.StatusOK, code, "ack: %s", body)
	code, body = postJSON(t, a.am+"/api/v2/silences", map[string]any{
		"matchers":  []map[string]any{{"name": "workspace", "value": "acme", "isRegex": false, "isEqual": true}},
		"startsAt":  time.Now().Add(-time.Minute).Format(time.RFC3339),
		"endsAt":    time.Now().Add(time.Hour).Format(time.RFC3339),
		"createdBy": "dave", "comment": "budget review",
	})
	require.Equal(t, http.StatusOK, code, "silence: %s", body)

	b := newUIBrowser(t, a.web)
	// From the notification history to the alert, by its link.
	b.open(t, "#/notifications")
	link := fmt.Sprintf(`#history-table a[href="#/alerts/%s"]`, fp)
	b.wait(t, 20*time.Second, "history row linking the alert", `document.querySelector('`+link+`')`)
	b.click(t, link)
	b.wait(t, 20*time.Second, "detail page", fmt.Sprintf(`location.hash === '#/alerts/%s' && document.getElementById('alert-detail') && document.getElementById('detail-description')`, fp))
	b.wait(t, 20*time.Second, "current value and silence", `document.getElementById('detail-value').textContent.includes('Current value: 42') &&
		document.getElementById('detail-silences').textContent.includes('workspace="acme"')`)
	text := eval[string](t, b, `document.getElementById('alert-detail').innerText`)
	require.Contains(t, text, "Workspace acme spends its monthly budget in six days.")
	require.Contains(t, text, "e2e_value > 10")
	require.Contains(t, text, "carol")
	require.Contains(t, text, "rolling back the bid change")
	require.Contains(t, text, "budget review")
	require.Equal(t, "https://runbooks.smm.example/E2EDetail", eval[string](t, b, `document.getElementById('detail-runbook').href`))
	require.Equal(t, "https://grafana.smm.example/d/budget", eval[string](t, b, `document.getElementById('detail-dashboard').href`))
	require.Equal(t, "E2EDetail", eval[string](t, b, `document.getElementById('detail-title').textContent`))
	// The history is this alert's: its notification and its ack.
	b.wait(t, 10*time.Second, "history of the alert", `document.querySelector('#detail-history .badge.ok') && document.querySelector('#detail-history .badge.ack')`)
	require.True(t, eval[bool](t, b, `[...document.querySelectorAll('#detail-history tbody tr')].every(r => r.textContent.includes('E2EDetail'))`))
	b.screenshot(t, "alert-detail", true)

	// The list links each alert to it; the URL is stable across a reload.
	b.open(t, "#/alerts")
	b.wait(t, 20*time.Second, "alert link", fmt.Sprintf(`document.querySelector('a.alertname[href="#/alerts/%s"]')`, fp))
	b.open(t, "#/alerts/"+fp)
	b.wait(t, 20*time.Second, "detail after a reload", `document.getElementById('detail-description')`)

	// An alert that is not firing still shows its page, saying so.
	b.open(t, "#/alerts/0000000000000000")
	b.wait(t, 20*time.Second, "not firing", `document.getElementById('detail-gone')`)
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}
