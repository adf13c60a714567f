package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestUIPromQLEditor: the query page's editor is CodeMirror with
// Prometheus' PromQL support, served from the appliance (no CDN): typing
// part of a metric name of the demo workload offers it from the
// appliance's API, the expression is highlighted, Enter runs it; the graph
// keeps 20 series apart in colour and its legend hides and shows a series.
func TestUIPromQLEditor(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	a := startAppliance(t, copyConfig(t, "basic"), t.TempDir(), basicEnv(exp, hook))
	requireConsole(t, a)
	exp.set("smm_connector_requests_total", 5)
	waitFor(t, 30*time.Second, "the demo metric scraped", func() bool { return len(query(t, a, "smm_connector_requests_total", time.Now())) > 0 })

	b := newUIBrowser(t, a.web)
	b.open(t, "#/query")
	b.wait(t, 15*time.Second, "the editor", `document.querySelector('.expr-box[data-editor="codemirror"] .cm-editor #query-expr[contenteditable="true"]')`)
	// Loaded from the appliance itself.
	require.True(t, eval[bool](t, b, `performance.getEntriesByType('resource').filter(e => e.name.includes('promql-editor')).every(e => e.name.startsWith(location.origin))`))
	b.do(t, "focus", chromedp.Focus(chromedp.CSS("#query-expr")))
	b.do(t, "type", chromedp.SendKeys(chromedp.CSS("#query-expr"), "smm_connector_req"))
	b.wait(t, 15*time.Second, "completion offers the metric", `[...document.querySelectorAll('.cm-tooltip-autocomplete li')].some(li => li.textContent.includes('smm_connector_requests_total'))`)
	b.screenshot(t, "query-completion", false)
	eval[chromedp.Void](t, b, `[...document.querySelectorAll('.cm-tooltip-autocomplete li')].find(li => li.textContent.includes('smm_connector_requests_total')).dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}))`)
	b.wait(t, 10*time.Second, "accepted", `document.getElementById('query-expr').value.startsWith('smm_connector_requests_total')`)
	b.do(t, "open a label matcher", chromedp.SendKeys(chromedp.CSS("#query-expr"), "{j"))
	b.wait(t, 15*time.Second, "completion offers its label names", `[...document.querySelectorAll('.cm-tooltip-autocomplete li')].some(li => li.textContent.includes('job'))`)
	b.do(t, "choose job", chromedp.SendKeys(chromedp.CSS("#query-expr"), `ob="e`))
	b.wait(t, 15*time.Second, "completion offers its label values", `[...document.querySelectorAll('.cm-tooltip-autocomplete li')].some(li => li.textContent.includes('exporter'))`)
	b.do(t, "close the matcher", chromedp.KeyEvent("\u001b"))
	eval[chromedp.Void](t, b, `document.getElementById('query-expr').value = 'smm_connector_requests_total'`)
	b.do(t, "focus the end", chromedp.Focus(chromedp.CSS("#query-expr")))
	eval[chromedp.Void](t, b, `(() => { const s = getSelection(), r = document.createRange(), c = document.querySelector('#query-expr .cm-line'); r.selectNodeContents(c); r.collapse(false); s.removeAllRanges(); s.addRange(r); })()`)
	b.do(t, "type a function", chromedp.SendKeys(chromedp.CSS("#query-expr"), " > rat"))
	b.wait(t, 15*time.Second, "completion offers functions", `[...document.querySelectorAll('.cm-tooltip-autocomplete li')].some(li => li.textContent.includes('rate'))`)
	b.do(t, "escape", chromedp.KeyEvent("\u001b"))
	eval[chromedp.Void](t, b, `document.getElementById('query-expr').value = 'sum by (job) (rate(smm_connector_requests_total[5m]))'`)
	b.wait(t, 10*time.Second, "highlighted", `document.querySelectorAll('#query-expr span[class]').length >= 3`)

	// Enter runs the query; 20 series in distinct colours; the legend toggles.
	eval[chromedp.Void](t, b, `document.getElementById('query-expr').value = 'topk(20, count by (__name__) ({__name__=~".+"}))'`)
	b.do(t, "focus", chromedp.Focus(chromedp.CSS("#query-expr")))
	b.do(t, "enter", chromedp.KeyEvent("\r"))
	b.wait(t, 20*time.Second, "20 series", `document.querySelectorAll('#graph svg path.series').length === 20`)
	colours := eval[[]string](t, b, `[...document.querySelectorAll('#graph svg path.series')].map(p => p.getAttribute('stroke'))`)
	seen := map[string]bool{}
	for _, c := range colours {
		require.False(t, seen[c], "colour %s repeats among 20 series: %v", c, colours)
		seen[c] = true
	}
	first := eval[string](t, b, `document.querySelector('#graph svg path.series').dataset.series`)
	b.click(t, "#graph-legend .legend-item")
	b.wait(t, 10*time.Second, "series hidden", `document.querySelectorAll('#graph svg path.series').length === 19 && ![...document.querySelectorAll('#graph svg path.series')].some(p => p.dataset.series === `+jsString(first)+`)`)
	b.click(t, "#graph-legend .legend-item")
	b.wait(t, 10*time.Second, "series shown again", `document.querySelectorAll('#graph svg path.series').length === 20`)
	b.screenshot(t, "query-20-series", true)
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}

func jsString(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		switch r {
		case '"', '\\':
			b = append(b, '\\', byte(r))
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}
