package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReliabilityReceiverOutage: a webhook receiver answers 500 and then
// refuses connections for 35 s while a second receiver works. The pipeline
// retries with backoff (every failed attempt is in the history), the
// notification-failure alert reaches the working receiver, and once the
// receiver is back every notification that fell due during the outage — a
// new alert's firing and an old alert's resolved — is delivered.
func TestReliabilityReceiverOutage(t *testing.T) {
	const (
		phase500     = 15 * time.Second // answers 500
		phaseRefused = 20 * time.Second // no listener
	)
	exp, flaky, ops := newExporter(t), newFlakyReceiver(t), newWebhook(t)
	env := map[string]string{
		"E2E_EXPORTER":  exp.addr(),
		"E2E_FLAKY_URL": flaky.url(),
		"E2E_OPS_URL":   ops.srv.URL + "/ops",
	}
	a := startAppliance(t, copyConfig(t, "reliability/outage"), t.TempDir(), env, "--rules.alert.resend-delay=1s")

	// Healthy: the first alert reaches the flaky receiver.
	exp.set("e2e_before", 1)
	waitFor(t, 30*time.Second, "E2EBeforeOutage delivered before the outage", func() bool { return flaky.delivered("E2EBeforeOutage", "firing") > 0 })

	// Outage, part 1: 500. A new alert falls due.
	outageStart := time.Now()
	flaky.setStatus(http.StatusInternalServerError)
	exp.set("e2e_during", 1)
	waitFor(t, phase500, "failure alert at the working receiver", func() bool { return len(ops.matching("E2ENotificationFailures", "firing")) > 0 })
	alertAfter := time.Since(outageStart)
	time.Sleep(time.Until(outageStart.Add(phase500)))

	// Outage, part 2: connection refused. The old alert resolves.
	flaky.refuse()
	exp.set("e2e_before", 0)
	time.Sleep(phaseRefused)

	// Recovery on the same address.
	recovered := time.Now()
	flaky.setStatus(http.StatusOK)
	flaky.listen()
	waitFor(t, 30*time.Second, "notifications due during the outage delivered", func() bool {
		return flaky.delivered("E2EDuringOutage", "firing") > 0 && flaky.delivered("E2EBeforeOutage", "resolved") > 0
	})
	deliveredAfter := time.Since(recovered)

	// The history has the failed attempts, both kinds of failure, numbered
	// retries, and growing gaps between the retries of one flush.
	fails := timedHistory(t, a, url.Values{"receiver": {"flaky"}, "status": {"failure"}})
	require.NotEmpty(t, fails)
	var n500, nRefused, maxAttempt int
	for _, e := range fails {
		require.False(t, e.Success)
		require.Equal(t, "webhook", e.Integration)
		require.True(t, !e.Time.Before(outageStart.Add(-time.Second)) && !e.Time.After(recovered.Add(time.Second)),
			"failed attempt at %s outside the outage %s–%s", e.Time, outageStart, recovered)
		switch {
		case strings.Contains(e.Error, "500"):
			n500++
		case strings.Contains(e.Error, "connection refused"):
			nRefused++
		default:
			t.Errorf("unexpected failure in history: %q", e.Error)
		}
		maxAttempt = max(maxAttempt, e.Attempt)
	}
	require.Positive(t, n500, "no 500 answer recorded")
	require.Positive(t, nRefused, "no refused connection recorded")
	require.Greater(t, maxAttempt, 2, "a flush was not retried")

	// Backoff: within one run of retries (attempts 1, 2, 3, … of one flush
	// of one group) the waits grow. History is newest first.
	slices.Reverse(fails)
	runs := map[string][][]time.Time{}
	for _, e := range fails {
		r := runs[e.GroupKey]
		if e.Attempt == 1 || len(r) == 0 {
			r = append(r, nil)
		}
		r[len(r)-1] = append(r[len(r)-1], e.Time)
		runs[e.GroupKey] = r
	}
	var growing, long int
	var example []time.Duration
	for _, rs := range runs {
		for _, r := range rs {
			if len(r) < 4 {
				continue
			}
			long++
			first, last := r[1].Sub(r[0]), r[len(r)-1].Sub(r[len(r)-2])
			if last > first {
				growing++
			}
			if example == nil {
				for i := 1; i < len(r); i++ {
					example = append(example, r[i].Sub(r[i-1]).Round(10*time.Millisecond))
				}
			}
		}
	}
	require.Positive(t, growing, "no run of retries with growing waits")

	// Successes after recovery: exactly what was due, nothing lost.
	oks := timedHistory(t, a, url.Values{"receiver": {"flaky"}, "status": {"success"}})
	var afterRecovery []string
	for _, e := range oks {
		if e.Time.After(recovered) {
			for _, al := range e.Alerts {
				afterRecovery = append(afterRecovery, al.Alertname+"/"+al.Status)
			}
		}
	}
	require.Contains(t, afterRecovery, "E2EDuringOutage/firing")
	require.Contains(t, afterRecovery, "E2EBeforeOutage/resolved")
	require.Equal(t, 1, flaky.delivered("E2EBeforeOutage", "firing"), "the pre-outage notification must not be sent again")

	// The failure alert was delivered only through the working receiver and
	// resolves once attempts succeed again.
	require.Zero(t, flaky.delivered("E2ENotificationFailures", "firing"))
	waitFor(t, 45*time.Second, "failure alert resolved at the working receiver", func() bool { return len(ops.matching("E2ENotificationFailures", "resolved")) > 0 })

	failedMetric := metricValue(t, a, "smm_appliance_notification_attempts_total", `receiver="flaky"`, `outcome="failure"`)
	amFailed := metricValue(t, a, "alertmanager_notifications_failed_total", `integration="webhook"`)
	t.Logf("receiver outage %s (500 for %s, refused for %s): %d failed attempts in history (%d × 500, %d × refused; attempt numbers up to %d; %d/%d runs of ≥4 attempts with growing waits, e.g. %v), smm_appliance_notification_attempts_total{outcome=failure}=%.0f, alertmanager_notifications_failed_total=%.0f",
		phase500+phaseRefused, phase500, phaseRefused, len(fails), n500, nRefused, maxAttempt, growing, long, example, failedMetric, amFailed)
	t.Logf("failure alert at the working receiver %s after the outage began; both notifications due delivered %s after recovery; 0 lost, pre-outage notification not repeated",
		alertAfter.Round(100*time.Millisecond), deliveredAfter.Round(100*time.Millisecond))
}
