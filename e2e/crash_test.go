package e2e

import (
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
	time.Sleep(6 * time.Second) // the alert store is snapshotted every 5 s
	a.kill()

	exp.set("e2e_value", 0) // resolves while nothing watches
	time.Sleep(2 * time.Second)
	b := startAppliance(t, cfg, data, env, args...)
	waitFor(t, 30*time.Second, "resolved notification after restart", func() bool { return len(hook.matching("E2EHighValue", "resolved")) == 1 })
	require.Len(t, hook.matching("E2EHighValue", "firing"), 1, "firing notification repeated after restart")
	require.Contains(t, b.logs.String(), "restored alerts from before the restart")
}
