package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestResolvedWhileDown: an alert that was firing and notified, and resolves
// while the appliance is down (kill -9), still gets its resolved
// notification after the restart — upstream Alertmanager loses it
// (alertmanager issue #2370) — and the firing one is not sent twice.
func TestResolvedWhileDown(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg, data := copyConfig(t, "basic"), t.TempDir()
	env := basicEnv(exp, hook)
	// A short resend delay makes alerts' end times short, as a fast rule
	// evaluation would; it keeps the test in seconds, not minutes.
	args := []string{"--rules.alert.resend-delay=1s"}
	a := startAppliance(t, cfg, data, env, args...)

	exp.set("e2e_value", 42)
	waitFor(t, 20*time.Second, "firing notification", func() bool { return len(hook.matching("E2EHighValue", "firing")) == 1 })
	// Killed once both snapshots hold the notified alert: the alert store
	// (written every 5 s) and the notification log (every second).
	waitFor(t, 20*time.Second, "alert and notification log snapshots", func() bool {
		alerts, _ := os.ReadFile(filepath.Join(data, "alertmanager", "alerts.json"))
		nflog, _ := os.ReadFile(filepath.Join(data, "alertmanager", "nflog"))
		return bytes.Contains(alerts, []byte("E2EHighValue")) && len(nflog) > 0
	})
	a.kill()

	exp.set("e2e_value", 0) // resolves while nothing watches
	b := startAppliance(t, cfg, data, env, args...)
	waitFor(t, 30*time.Second, "resolved notification after restart", func() bool { return len(hook.matching("E2EHighValue", "resolved")) == 1 })
	require.Len(t, hook.matching("E2EHighValue", "firing"), 1, "firing notification repeated after restart")
	require.Contains(t, b.logs.String(), "restored alerts from before the restart")
}
