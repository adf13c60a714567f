package console

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

type fixture struct {
	c      *Console
	alerts *mem.Alerts
	acks   *acks.Store
	reg    *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	logger := promslog.NewNopLogger()
	reg := prometheus.NewRegistry()
	alerts, err := mem.NewAlerts(context.Background(), time.Hour, 0, nil, logger, eventrecorder.NopRecorder(), reg, featurecontrol.NoopFlags{})
	require.NoError(t, err)
	t.Cleanup(alerts.Close)
	dir := t.TempDir()
	st, err := acks.Open(filepath.Join(dir, "acks.json"), logger)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	h, err := history.Open(history.Options{Dir: filepath.Join(dir, "history")}, logger)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return &fixture{c: New(alerts, nil, st, h, logger, reg), alerts: alerts, acks: st, reg: reg}
}

func (f *fixture) put(t *testing.T, ls model.LabelSet) *alert.Alert {
	t.Helper()
	now := time.Now()
	a := alert.New(model.Alert{Labels: ls, StartsAt: now, EndsAt: now.Add(time.Hour)}, now, false)
	require.NoError(t, f.alerts.Put(context.Background(), a))
	return a
}

func (f *fixture) history(t *testing.T, kind string) []history.Entry {
	t.Helper()
	es, err := f.c.History(history.Filter{Kind: kind})
	require.NoError(t, err)
	return es
}

// TestObserveNotification: a delivered notification is one history entry,
// counts in the delivery ratio and starts the alert's escalation clock; a
// failed one is recorded and starts nothing.
func TestObserveNotification(t *testing.T) {
	f := newFixture(t)
	a := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical"})
	now := time.Now()
	f.c.Observe(alertmanager.Attempt{Time: now, Receiver: "team", Integration: "webhook", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Err: errors.New("503"), Attempt: 1})
	_, ok := f.acks.Get(a.Fingerprint().String())
	require.False(t, ok, "a failed attempt does not start the clock")
	f.c.Observe(alertmanager.Attempt{Time: now, Receiver: "team", Integration: "webhook", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Attempt: 2})

	es := f.history(t, history.KindNotification)
	require.Len(t, es, 2)
	st, ok := f.acks.Get(a.Fingerprint().String())
	require.True(t, ok)
	require.Equal(t, now.UTC(), st.FirstNotifiedAt)
	require.InDelta(t, 0.5, value(t, f.reg, "smm_appliance_notification_delivery_success_ratio"), 1e-9)
}

// TestObserveLogFallback: a notification the log fallback handled is
// recorded as logged, not delivered, and stays out of the delivery ratio.
func TestObserveLogFallback(t *testing.T) {
	f := newFixture(t)
	a := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical"})
	now := time.Now()
	f.c.Observe(alertmanager.Attempt{Time: now, Receiver: "team", Integration: "webhook", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Err: errors.New("503"), Attempt: 1})
	f.c.Observe(alertmanager.Attempt{Time: now, Receiver: "nosecret", Integration: alertmanager.LogIntegration, Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Attempt: 1,
		Channel: "appliance log only", Message: "firing Down"})
	es := f.history(t, history.KindNotification)
	require.Len(t, es, 2)
	require.True(t, es[0].Logged, "newest first: the log fallback")
	require.Equal(t, "firing Down", es[0].Message)
	require.Equal(t, "appliance log only", es[0].Channel)
	require.False(t, es[1].Logged)
	require.Equal(t, "Down", es[0].Alerts[0].Labels["alertname"])
	require.InDelta(t, 0, value(t, f.reg, "smm_appliance_notification_delivery_success_ratio"), 1e-9, "one failure, the log line not counted")
}

// TestObserveEscalation: the delivery of an escalation copy is one
// escalation entry under the fingerprint of the alert it copies, with its
// step; no notification entry, no first-notification of the copy. Its
// resolution is not another escalation.
func TestObserveEscalation(t *testing.T) {
	f := newFixture(t)
	orig := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical"})
	cp := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical", escalation.LabelEscalated: "true", escalation.LabelStep: "2"})
	f.c.Observe(alertmanager.Attempt{Time: time.Now(), Receiver: "director", Integration: "webhook", Alerts: []*alert.Alert{cp}, Resolved: []bool{false}, Attempt: 1})
	f.c.Observe(alertmanager.Attempt{Time: time.Now(), Receiver: "director", Integration: "webhook", Alerts: []*alert.Alert{cp}, Resolved: []bool{true}, Attempt: 1})

	require.Empty(t, f.history(t, history.KindNotification), "a phantom notification entry")
	es := f.history(t, history.KindEscalation)
	require.Len(t, es, 1)
	require.Equal(t, 2, es[0].Step)
	require.Equal(t, "director", es[0].Receiver)
	require.True(t, es[0].Success)
	require.Equal(t, orig.Fingerprint().String(), es[0].Alerts[0].Fingerprint)
	_, ok := f.acks.Get(cp.Fingerprint().String())
	require.False(t, ok, "the copy has no state of its own")
	require.Equal(t, 1.0, value(t, f.reg, "smm_appliance_escalations_total"))
}

// TestAckUnack: acking records who and when, measures time to ack, and is
// in the history; unknown fingerprints are refused; unack is recorded.
func TestAckUnack(t *testing.T) {
	f := newFixture(t)
	a := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical"})
	f.c.Observe(alertmanager.Attempt{Time: time.Now().Add(-time.Minute), Receiver: "team", Integration: "webhook", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Attempt: 1})

	_, err := f.c.Ack(context.Background(), []string{a.Fingerprint().String()}, "", "")
	require.ErrorContains(t, err, "required")
	_, err = f.c.Ack(context.Background(), []string{"0123456789abcdef"}, "alice", "")
	require.ErrorIs(t, err, ErrNotFound)

	sts, err := f.c.Ack(context.Background(), []string{a.Fingerprint().String()}, "alice", "on it")
	require.NoError(t, err)
	require.Len(t, sts, 1)
	require.Equal(t, "alice", sts[0].Ack.By)
	require.Equal(t, "alice", f.c.States()[a.Fingerprint().String()].Ack.By)
	acked := f.history(t, history.KindAck)
	require.Len(t, acked, 1)
	require.Equal(t, "on it", acked[0].Comment)
	require.Equal(t, 1, testutil.CollectAndCount(f.reg, "smm_appliance_alert_acknowledge_seconds"))

	_, err = f.c.Unack(context.Background(), a.Fingerprint().String(), "alice")
	require.NoError(t, err)
	require.Nil(t, f.c.States()[a.Fingerprint().String()].Ack)
	require.Len(t, f.history(t, history.KindUnack), 1)
	_, err = f.c.Unack(context.Background(), a.Fingerprint().String(), "alice")
	require.ErrorIs(t, err, ErrNotFound)
}

// value sums the samples of one metric family of reg.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
		return sum
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestAlerts: the console's list comes from the alert store and the
// status function directly: firing alerts with their status, receivers,
// ack and escalations; no escalation copies, no resolved alerts.
func TestAlerts(t *testing.T) {
	f := newFixture(t)
	a := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical"})
	f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical", escalation.LabelEscalated: "true", escalation.LabelStep: "1"})
	now := time.Now()
	require.NoError(t, f.alerts.Put(context.Background(), alert.New(model.Alert{Labels: model.LabelSet{"alertname": "Gone"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-time.Minute)}, now, false)))
	f.c.status = func(_ context.Context, al *alert.Alert) (alert.AlertStatus, []string) {
		return alert.AlertStatus{State: alert.AlertStateSuppressed, SilencedBy: []string{"s1"}, InhibitedBy: []string{}}, []string{"team"}
	}
	f.c.Observe(alertmanager.Attempt{Time: now, Receiver: "team", Integration: "webhook", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Attempt: 1})
	require.NoError(t, f.acks.Escalated(a.Fingerprint().String(), acks.Escalation{Step: 1, At: now, Receiver: "manager"}))

	list := f.c.Alerts(context.Background())
	require.Len(t, list, 1)
	got := list[0]
	require.Equal(t, a.Fingerprint().String(), got.Fingerprint)
	require.Equal(t, "Down", got.Labels["alertname"])
	require.Equal(t, "suppressed", got.State)
	require.Equal(t, []string{"s1"}, got.SilencedBy)
	require.Equal(t, []string{"team"}, got.Receivers)
	require.NotNil(t, got.FirstNotifiedAt)
	require.Len(t, got.Escalations, 1)
	require.Nil(t, got.Ack)
}
