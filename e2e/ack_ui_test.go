package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestAckUI drives, in Chromium, the page a notification's link opens (the
// alerts, the reasons, one button) and the console's acknowledge dialog
// (reason and snooze): both reach the API with what was chosen.
func TestAckUI(t *testing.T) {
	fakes, env := newAckFakes(t)
	a := startAppliance(t, ackConfigDir(t, ""), t.TempDir(), env)
	postAlerts(t, a, []amAlert{ackAlert("E2EPageAck", "db-1"), ackAlert("E2EDialogAck", "db-2")})
	waitFor(t, 15*time.Second, "the Slack message", func() bool { return len(fakes.slackTexts(t, "E2EPageAck")) > 0 })
	m := slackAckLink.FindStringSubmatch(fakes.slackTexts(t, "E2EPageAck")[0])
	require.NotNil(t, m)
	al := applianceAlerts(t, a)
	page, dialog := al["E2EPageAck/db-1"].Fingerprint, al["E2EDialogAck/db-2"].Fingerprint

	b := newUIBrowser(t, a.web)
	t.Run("link page", func(t *testing.T) {
		b.do(t, "open the link", chromedp.Navigate(m[1]))
		b.wait(t, 10*time.Second, "the confirm page", `document.getElementById('ack-confirm') && document.querySelector('#ack-alerts').textContent.includes('E2EPageAck on db-1')`)
		b.screenshot(t, "ack-link-page", true)
		require.Nil(t, applianceAlerts(t, a)["E2EPageAck/db-1"].Ack, "the page loaded in a browser acknowledged nothing")
		b.click(t, `input[name="reason"][value="not_actionable"]`)
		b.click(t, `#ack-confirm`)
		b.wait(t, 10*time.Second, "done", `document.getElementById('ack-done') && document.getElementById('ack-done').textContent.includes('1 alert(s)')`)
		b.screenshot(t, "ack-link-done", true)
		ack := applianceAlerts(t, a)["E2EPageAck/db-1"].Ack
		require.NotNil(t, ack)
		require.Equal(t, "not_actionable", ack.Reason)
		require.Equal(t, "link", ack.Via)
		require.Nil(t, applianceAlerts(t, a)["E2EDialogAck/db-2"].Ack)
	})
	t.Run("console dialog", func(t *testing.T) {
		row := fmt.Sprintf(`.alert-row[data-fp=%q]`, dialog)
		b.open(t, "#/alerts")
		b.wait(t, 20*time.Second, "the alert's row", `document.querySelector('`+row+` [data-action="ack"]')`)
		b.click(t, row+` [data-action="ack"]`)
		b.wait(t, 5*time.Second, "ack dialog", `document.querySelector('#ack-dialog[open]')`)
		b.typeInto(t, `#ack-dialog input[name="by"]`, "carol")
		eval[chromedp.Void](t, b, `document.querySelector('#ack-dialog input[name="reason"][value="false_positive"]').click()`)
		eval[chromedp.Void](t, b, `document.querySelector('#ack-dialog select[name="snooze"]').value = '1h'`)
		b.screenshot(t, "ack-dialog", false)
		b.click(t, `#ack-dialog button[type="submit"]`)
		b.wait(t, 15*time.Second, "acked marker", `document.querySelector('`+row+` .badge.ack') && document.querySelector('`+row+` .badge.ack').textContent.includes('Acked by carol')`)
		ack := applianceAlerts(t, a)["E2EDialogAck/db-2"].Ack
		require.NotNil(t, ack)
		require.Equal(t, "carol", ack.By)
		require.Equal(t, "false_positive", ack.Reason)
		require.Equal(t, "console", ack.Via)
		require.WithinDuration(t, time.Now().Add(time.Hour), ack.Until, time.Minute)
	})
	require.Empty(t, b.jsErrors())
	_ = page
}
