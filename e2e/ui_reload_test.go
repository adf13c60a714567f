package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestUIReloadError: a failed reload's error (file, line, message, time)
// is in GET /api/v1/appliance/status and on the console's Status page until
// a reload succeeds (issue 16); the status API's escalation block is
// camelCase like the rest.
func TestUIReloadError(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	a := startAppliance(t, cfg, t.TempDir(), basicEnv(exp, hook))
	requireConsole(t, a)

	type status struct {
		ReloadSuccessful bool `json:"reloadSuccessful"`
		LastReloadError  *struct {
			File    string    `json:"file"`
			Line    int       `json:"line"`
			Message string    `json:"message"`
			Time    time.Time `json:"time"`
		} `json:"lastReloadError"`
		Escalation map[string]json.RawMessage `json:"escalation"`
	}
	get := func() status {
		var resp struct {
			Data status `json:"data"`
		}
		getJSON(t, a.web+"/api/v1/appliance/status", &resp)
		return resp.Data
	}
	s := get()
	require.True(t, s.ReloadSuccessful)
	require.Nil(t, s.LastReloadError)
	require.Contains(t, s.Escalation, "checkInterval")
	require.Contains(t, s.Escalation, "steps")

	rulePath := filepath.Join(cfg, "rules", "e2e.yml")
	good, err := os.ReadFile(rulePath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rulePath, []byte(strings.Replace(string(good), "e2e_value > 10", "e2e_value >> 10", 1)), 0o644))
	before := time.Now()
	resp, err := http.Post(a.web+"/-/reload", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)

	s = get()
	require.False(t, s.ReloadSuccessful)
	require.NotNil(t, s.LastReloadError, "the failed reload's error is kept")
	require.Equal(t, rulePath, s.LastReloadError.File)
	require.Equal(t, 5, s.LastReloadError.Line)
	require.Contains(t, s.LastReloadError.Message, "parse error")
	require.WithinDuration(t, before, s.LastReloadError.Time, 10*time.Second)

	b := newUIBrowser(t, a.web)
	b.open(t, "#/status")
	b.wait(t, 20*time.Second, "reload error on the Status page",
		`document.getElementById('reload-error') && document.getElementById('reload-error').textContent.includes('e2e.yml:5') && document.getElementById('reload-error').textContent.includes('parse error')`)
	// The files in force, with where each comes from.
	b.wait(t, 10*time.Second, "files in force", `[...document.querySelectorAll('#config-files [data-origin=added]')].some((e) => e.textContent.includes('rules/e2e.yml'))`)
	b.screenshot(t, "status-reload-error", true)

	require.NoError(t, os.WriteFile(rulePath, good, 0o644))
	resp, err = http.Post(a.web+"/-/reload", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s = get()
	require.True(t, s.ReloadSuccessful)
	require.Nil(t, s.LastReloadError, "gone once a reload succeeds")

	b.do(t, "reload page", chromedp.Reload())
	b.waitPage(t, "#/status")
	b.wait(t, 20*time.Second, "reload shown successful", `document.body.textContent.includes('last successful')`)
	require.False(t, eval[bool](t, b, `!!document.getElementById('reload-error')`), "no error once a reload succeeded")
}
