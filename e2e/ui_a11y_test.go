package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// TestUIAccessible: the alert list is updated in place (the focused button
// stays focused, the same element, across a refresh that brings a new
// alert); filters and search boxes have labels; the banner is a live
// region; tabs follow the arrow keys and name the panel they control; the
// nav marks the current page; a malformed or unknown route shows the alerts
// with a message.
func TestUIAccessible(t *testing.T) {
	a, _ := truthAppliance(t)
	plain := amAlertFP(t, a, "E2EPlain")
	b := newUIBrowser(t, a.web)
	b.open(t, "#/alerts")
	row := fmt.Sprintf(`.alert-row[data-fp=%q]`, plain)

	t.Run("focus kept across a refresh", func(t *testing.T) {
		b.wait(t, 20*time.Second, "Ack button", `document.querySelector('`+row+` [data-action="ack"]')`)
		b.do(t, "focus Ack", chromedp.Focus(chromedp.CSS(row+` [data-action="ack"]`)))
		eval[chromedp.Void](t, b, `(() => { const e = document.activeElement; e.dataset.marker = 'kept'; window.__focused = e; document.getElementById('alert-list').dataset.renderMs = ''; })()`)
		// A new alert in the same group arrives before the refresh.
		postAlerts(t, a, []amAlert{{Labels: map[string]string{"alertname": "E2EAnother", "severity": "warning", "team": "billing"}, EndsAt: time.Now().Add(time.Hour)}})
		amAlertFP(t, a, "E2EAnother")
		eval[chromedp.Void](t, b, `document.getElementById('refresh-now').click()`)
		b.wait(t, 20*time.Second, "refreshed with the new alert", `document.getElementById('alert-list').dataset.renderMs !== '' && [...document.querySelectorAll('.alertname')].some(e => e.textContent === 'E2EAnother')`)
		require.True(t, eval[bool](t, b, `document.activeElement === window.__focused && window.__focused.isConnected && document.activeElement.dataset.marker === 'kept'`),
			"focus moved: active element is %s", eval[string](t, b, `document.activeElement.outerHTML.slice(0, 200)`))
	})

	t.Run("labels", func(t *testing.T) {
		for _, page := range []string{"#/alerts", "#/rules", "#/targets", "#/silences", "#/notifications", "#/query"} {
			b.route(t, page)
			unlabelled := eval[[]string](t, b, `[...document.querySelectorAll('#app select, #app input, #app textarea')].filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map(e => e.id || e.outerHTML.slice(0, 80))`)
			require.Empty(t, unlabelled, "controls without a label on %s", page)
		}
	})

	t.Run("banner and nav", func(t *testing.T) {
		require.Equal(t, "status", eval[string](t, b, `document.getElementById('banner').getAttribute('role')`))
		require.Equal(t, "polite", eval[string](t, b, `document.getElementById('banner').getAttribute('aria-live')`))
		b.route(t, "#/rules")
		require.Equal(t, []string{"rules"}, eval[[]string](t, b, `[...document.querySelectorAll('#nav a[aria-current="page"]')].map(a => a.dataset.page)`))
	})

	t.Run("tabs", func(t *testing.T) {
		b.route(t, "#/query?expr=vector(1)")
		b.wait(t, 10*time.Second, "tabs", `document.querySelector('#tab-graph[role="tab"][aria-selected="true"]')`)
		require.Equal(t, "query-out", eval[string](t, b, `document.getElementById('tab-graph').getAttribute('aria-controls')`))
		require.Equal(t, "tabpanel", eval[string](t, b, `document.getElementById('query-out').getAttribute('role')`))
		b.do(t, "focus the graph tab", chromedp.Focus(chromedp.CSS("#tab-graph")))
		b.do(t, "arrow right", chromedp.KeyEvent(kb.ArrowRight))
		b.wait(t, 10*time.Second, "table tab chosen and focused", `document.activeElement.id === 'tab-table' && document.getElementById('tab-table').getAttribute('aria-selected') === 'true' && document.getElementById('tab-graph').tabIndex === -1`)
		b.wait(t, 10*time.Second, "table shown", `document.getElementById('query-table')`)
		b.do(t, "arrow left", chromedp.KeyEvent(kb.ArrowLeft))
		b.wait(t, 10*time.Second, "graph tab again", `document.activeElement.id === 'tab-graph' && document.getElementById('tab-graph').getAttribute('aria-selected') === 'true'`)
	})

	t.Run("malformed routes", func(t *testing.T) {
		for _, route := range []string{"#/%E0%A4%A", "#/no-such-page/x"} {
			b.do(t, "navigate "+route, chromedp.Navigate(a.web+"/"+route))
			b.wait(t, 20*time.Second, "alerts with a message for "+route, `document.getElementById('alert-list') && !document.getElementById('banner').hidden && /malformed|No page/.test(document.getElementById('banner').textContent)`)
		}
	})
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}

// TestUISilencePreviewRE2: a silence with a (?i) regular expression — valid
// for Alertmanager (RE2), not for the browser's RegExp — previews exactly
// the alerts the server then silences.
func TestUISilencePreviewRE2(t *testing.T) {
	a, _ := truthAppliance(t)
	want := []string{amAlertFP(t, a, "E2EInhSource"), amAlertFP(t, a, "E2EInhTarget")}
	slices.Sort(want)
	b := newUIBrowser(t, a.web)
	b.open(t, "#/silences/new")
	b.typeInto(t, "#silence-matchers", `alertname=~"(?i)e2einh.*"`)
	b.wait(t, 20*time.Second, "preview of two alerts from the server", `document.getElementById('preview-count') && document.getElementById('preview-count').dataset.count === '2' && document.getElementById('preview-count').dataset.source === 'server'`)
	previewed := eval[[]string](t, b, `[...document.querySelectorAll('#silence-preview tr[data-fp]')].map(r => r.dataset.fp).sort()`)
	require.Equal(t, want, previewed)

	// A lookahead (JavaScript has it, RE2 does not) is refused as the
	// server would refuse the silence.
	b.typeInto(t, "#silence-matchers", `alertname=~"(?=x)"`)
	b.wait(t, 20*time.Second, "parse error", `document.getElementById('preview-error')`)

	b.typeInto(t, "#silence-matchers", `alertname=~"(?i)e2einh.*"`)
	b.wait(t, 20*time.Second, "preview again", `document.getElementById('preview-count') && document.getElementById('preview-count').dataset.count === '2'`)
	b.typeInto(t, "#silence-by", "erin")
	b.typeInto(t, "#silence-comment", "case-insensitive silence")
	b.click(t, "#silence-submit")
	b.wait(t, 15*time.Second, "silence created", `location.hash.startsWith('#/silences?id=')`)
	id := eval[string](t, b, `new URLSearchParams(location.hash.split('?')[1]).get('id')`)

	var silenced []string
	waitFor(t, 20*time.Second, "the server silences the previewed alerts", func() bool {
		var resp struct {
			Data []struct {
				Fingerprint string   `json:"fingerprint"`
				SilencedBy  []string `json:"silencedBy"`
			} `json:"data"`
		}
		getJSON(t, a.web+"/api/v1/appliance/alerts", &resp)
		silenced = nil
		for _, al := range resp.Data {
			if slices.Contains(al.SilencedBy, id) {
				silenced = append(silenced, al.Fingerprint)
			}
		}
		slices.Sort(silenced)
		return slices.Equal(silenced, want)
	})
	require.Equal(t, previewed, silenced, "preview == server")

	// The alert list's filter reads a leading (?i) too.
	b.route(t, "#/alerts")
	b.typeInto(t, "#alert-filter", `alertname=~"(?i)e2einh.*"`)
	b.wait(t, 15*time.Second, "filtered case-insensitively", `document.getElementById('alert-count').dataset.count === '2'`)

	code, _ := httpGet(a.web + "/api/v1/appliance/matchers?matchers=" + "%7Bbad")
	require.Equal(t, http.StatusBadRequest, code, "an unparsable set is a 400")
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}
