package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReloadRejectsBrokenConfig: a broken alertmanager.yml or rule file is
// refused on reload with its file and line, the old configuration keeps
// alerting, and the reload metric says so. The status APIs never show a
// secret from the environment.
func TestReloadRejectsBrokenConfig(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	env := basicEnv(exp, hook)
	a := startAppliance(t, cfg, t.TempDir(), env)

	reload := func() (int, string) {
		resp, err := http.Post(a.web+"/-/reload", "", nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp.StatusCode, b.String()
	}
	reloadMetric := func() string {
		_, body := httpGet(a.web + "/metrics")
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "smm_appliance_config_last_reload_successful ") {
				return strings.TrimPrefix(l, "smm_appliance_config_last_reload_successful ")
			}
		}
		return ""
	}
	require.Equal(t, "1", reloadMetric())

	amPath := filepath.Join(cfg, "alertmanager.yml")
	goodAM, err := os.ReadFile(amPath)
	require.NoError(t, err)
	rulePath := filepath.Join(cfg, "rules", "e2e.yml")
	goodRules, err := os.ReadFile(rulePath)
	require.NoError(t, err)

	cases := []struct {
		name    string
		path    string
		content string
		wantErr []string // substrings of the reload error
	}{
		{
			name:    "unknown receiver",
			path:    amPath,
			content: strings.Replace(string(goodAM), "receiver: webhook", "receiver: nosuchreceiver", 1),
			wantErr: []string{"alertmanager.yml", `undefined receiver "nosuchreceiver"`},
		},
		{
			name:    "wrong type",
			path:    amPath,
			content: strings.Replace(string(goodAM), "group_wait: 1s", "group_wait: [1s]", 1),
			wantErr: []string{"alertmanager.yml", "line 4"},
		},
		{
			name:    "truncated",
			path:    amPath,
			content: string(goodAM[:len(goodAM)/3]) + "\n  - [",
			wantErr: []string{"alertmanager.yml", "line"},
		},
		{
			name:    "invalid PromQL",
			path:    rulePath,
			content: strings.Replace(string(goodRules), "e2e_value > 10", "e2e_value >> 10", 1),
			wantErr: []string{"e2e.yml: 5:15", "parse error"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(c.path, []byte(c.content), 0o644))
			t.Cleanup(func() {
				// Put the good files back for the next case.
				require.NoError(t, os.WriteFile(amPath, goodAM, 0o644))
				require.NoError(t, os.WriteFile(rulePath, goodRules, 0o644))
			})
			code, body := reload()
			require.Equal(t, http.StatusInternalServerError, code, body)
			for _, w := range c.wantErr {
				require.Contains(t, body, w)
			}
			require.Equal(t, "0", reloadMetric())
		})
	}

	// The old configuration still alerts end to end.
	exp.set("e2e_value", 50)
	waitFor(t, 20*time.Second, "notification under the old configuration", func() bool {
		return len(hook.matching("E2EHighValue", "firing")) > 0
	})

	// A valid reload succeeds again.
	code, body := reload()
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "1", reloadMetric())

	// Secrets: neither the scrape password nor the Slack URL are shown.
	for _, u := range []string{a.web + "/api/v1/status/config", a.am + "/api/v2/status", a.am + "/api/v1/status", a.web + "/api/v1/appliance/status"} {
		code, body := httpGet(u)
		require.Equal(t, http.StatusOK, code, u)
		require.NotContains(t, string(body), env["E2E_SCRAPE_PASSWORD"], u)
		require.NotContains(t, string(body), "slack-secret-marker", u)
	}
	require.NotContains(t, a.logs.String(), env["E2E_SCRAPE_PASSWORD"])
	require.NotContains(t, a.logs.String(), "slack-secret-marker")
}
