package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// truthConfig is the basic config with an inhibition (E2EInhSource
// inhibits E2EInhTarget of the same team); started without E2E_SLACK_URL, so
// the receiver "slack" (team="nobody") is served by the log fallback.
func truthAppliance(t *testing.T) (*appliance, *webhook) {
	t.Helper()
	exp, hook := newExporter(t), newWebhook(t)
	env := basicEnv(exp, hook)
	delete(env, "E2E_SLACK_URL")
	cfg := copyConfig(t, "basic")
	f, err := os.OpenFile(filepath.Join(cfg, "alertmanager.yml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`inhibit_rules:
  - source_matchers: [alertname="E2EInhSource"]
    target_matchers: [alertname="E2EInhTarget"]
    equal: [team]
`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	a := startAppliance(t, cfg, t.TempDir(), env)
	requireConsole(t, a)
	end := time.Now().Add(time.Hour)
	mk := func(name, sev, team string, ann map[string]string) amAlert {
		return amAlert{Labels: map[string]string{"alertname": name, "severity": sev, "team": team}, StartsAt: time.Now().Add(-5 * time.Minute), EndsAt: end, Annotations: ann}
	}
	postAlerts(t, a, []amAlert{
		mk("E2EInhSource", "critical", "billing", map[string]string{"summary": "the cause"}),
		mk("E2EInhTarget", "warning", "billing", map[string]string{"summary": "a symptom"}),
		mk("E2EPlain", "warning", "billing", map[string]string{"summary": "not inhibited"}),
		mk("E2ELogged", "warning", "nobody", map[string]string{"summary": "goes to a receiver without its secret"}),
		mk("Watchdog", "none", "platform", map[string]string{"summary": "The alerting pipeline is alive"}),
	})
	return a, hook
}

// TestUITruth: the console does not call a log-fallback notification
// "sent", offers no Ack on an inhibited alert (and leaves it out of the
// group ack), links the inhibiting alert, and shows the Watchdog as the
// pipeline's heartbeat instead of an alert group.
func TestUITruth(t *testing.T) {
	a, _ := truthAppliance(t)
	source := amAlertFP(t, a, "E2EInhSource")
	target := amAlertFP(t, a, "E2EInhTarget")
	waitFor(t, 30*time.Second, "log-fallback notification in the history", func() bool {
		return len(historyOf(t, a, "receiver=slack&kind=notification")) > 0
	})
	waitFor(t, 30*time.Second, "Watchdog delivered", func() bool {
		return len(historyOf(t, a, "alertname=Watchdog&kind=notification")) > 0
	})

	b := newUIBrowser(t, a.web)
	b.open(t, "#/notifications")
	t.Run("log fallback is not sent", func(t *testing.T) {
		b.wait(t, 20*time.Second, "the E2ELogged row", `[...document.querySelectorAll('#history-table tbody tr')].some(r => r.textContent.includes('E2ELogged'))`)
		rowText := eval[string](t, b, `[...document.querySelectorAll('#history-table tbody tr')].find(r => r.textContent.includes('E2ELogged')).textContent`)
		require.Contains(t, rowText, "logged, not delivered")
		require.NotContains(t, rowText, "sent")
		require.True(t, eval[bool](t, b, `!![...document.querySelectorAll('#history-table tbody tr')].find(r => r.textContent.includes('E2ELogged')).querySelector('.badge.logged:not(.ok)')`))
		require.NotEqual(t, "0", eval[string](t, b, `document.getElementById('history-count').dataset.logged`), "logged counted apart")
		require.Contains(t, eval[string](t, b, `document.querySelector('.summary').textContent`), "logged, not delivered")
		b.screenshot(t, "notifications-logged", true)
	})

	t.Run("inhibited alert has no ack", func(t *testing.T) {
		b.route(t, "#/alerts")
		row := fmt.Sprintf(`.alert-row[data-fp=%q]`, target)
		b.wait(t, 20*time.Second, "inhibited row", `document.querySelector('`+row+` .inhibited-by')`)
		require.False(t, eval[bool](t, b, `!!document.querySelector('`+row+` [data-action="ack"]')`), "Ack on an inhibited alert")
		require.Equal(t, "#/alerts/"+source, eval[string](t, b, `document.querySelector('`+row+` .inhibited-by').getAttribute('href')`))
		require.Equal(t, "E2EInhSource", eval[string](t, b, `document.querySelector('`+row+` .inhibited-by').textContent`))
		// The warning/billing group holds E2EInhTarget and E2EPlain: Ack 1.
		require.Equal(t, "Ack 1", eval[string](t, b, `document.querySelector('.group:has(`+row+`) [data-action="ack-group"]').textContent`))
	})

	t.Run("watchdog is the heartbeat", func(t *testing.T) {
		b.wait(t, 20*time.Second, "heartbeat with its last delivery", `!document.getElementById('heartbeat').hidden && document.querySelector('#heartbeat .hb-last') && document.querySelector('#heartbeat .hb-last').textContent.includes('last delivered to webhook')`)
		require.False(t, eval[bool](t, b, `!!document.querySelector('.sev-section.sev-none')`), "a None severity group")
		require.False(t, eval[bool](t, b, `[...document.querySelectorAll('#alert-list .alertname')].some(e => e.textContent === 'Watchdog')`), "the Watchdog listed as an alert")
		b.screenshot(t, "alerts-truth", true)
	})
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}

// TestUIWhoamiFailsToViewer: when whoami cannot be read, the console shows
// the viewer view (no Ack, no Silence), not the admin one.
func TestUIWhoamiFailsToViewer(t *testing.T) {
	a, _ := truthAppliance(t)
	amAlertFP(t, a, "E2EPlain")
	b := newUIBrowser(t, a.web)
	// Every whoami answer fails, as when a proxy in front breaks it.
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			const realFetch = window.fetch;
			window.fetch = (u, ...rest) => String(u).includes('whoami') ? Promise.reject(new TypeError('network down')) : realFetch(u, ...rest);`})
		return err
	})))
	b.open(t, "#/alerts")
	b.wait(t, 20*time.Second, "alerts listed", `document.querySelector('.alert-row')`)
	require.Equal(t, "viewer", eval[string](t, b, `document.documentElement.dataset.role`))
	require.Zero(t, eval[int](t, b, `[...document.querySelectorAll('.needs-operator')].filter(e => e.offsetParent !== null).length`), "operator actions visible")
}
