package slo

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
)

func mkAlert(name string, startsAt time.Time, extra ...string) *alert.Alert {
	ls := model.LabelSet{"alertname": model.LabelValue(name), "severity": "critical"}
	for i := 0; i+1 < len(extra); i += 2 {
		ls[model.LabelName(extra[i])] = model.LabelValue(extra[i+1])
	}
	return alert.New(model.Alert{Labels: ls, StartsAt: startsAt}, startsAt, false)
}

// TestRecorder: the latency of an alert's first successful notification is
// observed once per episode, over every receiver, retries included; repeats,
// resolved notifications, escalation copies and alerts notified before a
// restart are not; notifications are counted once per flush.
func TestRecorder(t *testing.T) {
	base := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	a := mkAlert("DatabaseDown", base)
	b := mkAlert("DiskFull", base)
	old := mkAlert("OldOne", base.Add(-time.Hour))
	esc := mkAlert("DatabaseDown", base, escalation.LabelEscalated, "true", escalation.LabelStep, "1")
	notified := map[string]time.Time{old.Fingerprint().String(): base.Add(-50 * time.Minute)}
	reg := prometheus.NewRegistry()
	r := NewRecorder(func(fp string) (time.Time, bool) { t, ok := notified[fp]; return t, ok }, reg)

	attempt := func(d time.Duration, n int, err error, resolved bool, as ...*alert.Alert) {
		rs := make([]bool, len(as))
		for i := range rs {
			rs[i] = resolved
		}
		r.Observe(alertmanager.Attempt{Time: base.Add(d), Receiver: "pagerduty", Integration: "pagerduty", Attempt: n, Err: err, Alerts: as, Resolved: rs, Duration: time.Second})
	}
	attempt(30*time.Second, 1, errors.New("503"), false, a, b) // failed: no latency
	attempt(40*time.Second, 2, nil, false, a, b)               // retry delivers: 41 s each
	attempt(5*time.Minute, 1, nil, false, a)                   // repeat: not again
	attempt(6*time.Minute, 1, nil, true, b)                    // resolved: nothing
	attempt(6*time.Minute, 1, nil, false, esc, old)            // escalation copy, and notified before a restart
	a2 := mkAlert("DatabaseDown", base.Add(10*time.Minute))    // fires again: a new episode
	attempt(10*time.Minute+4*time.Second, 1, nil, false, a2)   // 5 s

	var m dto.Metric
	require.NoError(t, r.processing.WithLabelValues("critical").(prometheus.Histogram).Write(&m))
	require.Equal(t, uint64(3), m.GetHistogram().GetSampleCount(), "a and b once each, a's second episode")
	require.InDelta(t, 41+41+5, m.GetHistogram().GetSampleSum(), 1e-9)
	require.Equal(t, 5.0, testutil.ToFloat64(r.notifications.WithLabelValues("pagerduty", "pagerduty")), "the retry is the same notification")
	require.Equal(t, 5.0, testutil.ToFloat64(r.delivered.WithLabelValues("pagerduty", "pagerduty")))

	// The log fallback of a receiver without its secret: no notification,
	// no delivery, no latency (it reached nobody; the delivery SLO must not
	// page for a missing secret).
	c := mkAlert("QueueBacklog", base.Add(20*time.Minute))
	r.Observe(alertmanager.Attempt{Time: base.Add(21 * time.Minute), Receiver: "platform-slack", Integration: alertmanager.LogIntegration, Attempt: 1, Alerts: []*alert.Alert{c}, Resolved: []bool{false}})
	require.Equal(t, 1, testutil.CollectAndCount(r.notifications), "only pagerduty's series")
	require.NoError(t, r.processing.WithLabelValues("critical").(prometheus.Histogram).Write(&m))
	require.Equal(t, uint64(3), m.GetHistogram().GetSampleCount(), "no latency from a log line")
}
