package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tool finds an upstream client: $ENV, else bin/tools/NAME (make tools).
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "bin", "tools", name))
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found at %s and $%s is unset: run `make tools`", name, p, env)
	}
	return p
}

func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out)
}

// TestUpstreamClients drives the running appliance with the operators' own
// tools, built from the module versions the appliance embeds: amtool against
// the Alertmanager API and promtool against the Prometheus API.
func TestUpstreamClients(t *testing.T) {
	amtool, promtool := tool(t, "AMTOOL", "amtool"), tool(t, "PROMTOOL", "promtool")
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	a := startAppliance(t, cfg, t.TempDir(), basicEnv(exp, hook))
	amURL := "--alertmanager.url=" + a.am

	t.Run("amtool alert add and query", func(t *testing.T) {
		runTool(t, amtool, amURL, "alert", "add", "alertname=E2EManual", "severity=warning", "team=platform", "--annotation=summary=posted by amtool")
		var out string
		waitFor(t, 10*time.Second, "amtool alert query shows the alert", func() bool {
			out = runTool(t, amtool, amURL, "alert", "query", "alertname=E2EManual")
			return strings.Contains(out, "E2EManual")
		})
		require.Contains(t, out, "posted by amtool")
		// And it is routed like any rule alert.
		waitFor(t, 15*time.Second, "webhook receives the posted alert", func() bool { return len(hook.matching("E2EManual", "firing")) > 0 })
	})

	t.Run("amtool silence add, query, expire", func(t *testing.T) {
		id := strings.TrimSpace(runTool(t, amtool, amURL, "silence", "add", "alertname=E2EManual", "--comment=amtool e2e", "--author=e2e", "--duration=1h"))
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f-]{36}$`), id)
		out := runTool(t, amtool, amURL, "silence", "query")
		require.Contains(t, out, id)
		require.Contains(t, out, "amtool e2e")
		require.Contains(t, runTool(t, amtool, amURL, "silence", "query", "-q"), id)
		runTool(t, amtool, amURL, "silence", "expire", id)
		require.NotContains(t, runTool(t, amtool, amURL, "silence", "query", "-q"), id, "expired silence still listed as active")
		require.Contains(t, runTool(t, amtool, amURL, "silence", "query", "--expired", "-q"), id)
	})

	t.Run("amtool config routes test", func(t *testing.T) {
		// Without --config.file amtool fetches the running configuration.
		require.Equal(t, "webhook", strings.TrimSpace(runTool(t, amtool, amURL, "config", "routes", "test", "alertname=E2EHighValue")))
		require.Equal(t, "slack", strings.TrimSpace(runTool(t, amtool, amURL, "config", "routes", "test", "team=nobody")))
		runTool(t, amtool, amURL, "config", "routes", "test", "--verify.receivers=slack", "team=nobody")
	})

	t.Run("amtool check-config on the running configuration", func(t *testing.T) {
		var status struct {
			Config struct {
				Original string `json:"original"`
			} `json:"config"`
		}
		getJSON(t, a.am+"/api/v2/status", &status)
		f := filepath.Join(t.TempDir(), "alertmanager.yml")
		require.NoError(t, os.WriteFile(f, []byte(status.Config.Original), 0o644))
		out := runTool(t, amtool, "check-config", f)
		require.Contains(t, out, "SUCCESS")
		require.Contains(t, out, "Found:")
	})

	t.Run("promtool query instant", func(t *testing.T) {
		exp.set("e2e_value", 7)
		var out string
		waitFor(t, 10*time.Second, "promtool sees the scraped value", func() bool {
			out = runTool(t, promtool, "query", "instant", a.web, `e2e_value{job="exporter"}`)
			return strings.Contains(out, "=> 7 @")
		})
		waitFor(t, 15*time.Second, "the appliance scrapes itself", func() bool {
			out = runTool(t, promtool, "query", "instant", a.web, `up{job="smm-appliance"}`)
			return strings.Contains(out, "=> 1 @")
		})
	})

	t.Run("promtool check config", func(t *testing.T) {
		// The operator's file as written, and the configuration the
		// appliance is running (rule files resolved, secrets redacted).
		out := runTool(t, promtool, "check", "config", filepath.Join(cfg, "prometheus.yml"))
		require.Contains(t, out, "SUCCESS")
		var status struct {
			Data struct {
				YAML string `json:"yaml"`
			} `json:"data"`
		}
		getJSON(t, a.web+"/api/v1/status/config", &status)
		f := filepath.Join(t.TempDir(), "running.yml")
		require.NoError(t, os.WriteFile(f, []byte(status.Data.YAML), 0o644))
		out = runTool(t, promtool, "check", "config", f)
		require.Contains(t, out, "SUCCESS")
		require.Contains(t, out, "2 rules found")
	})
}
