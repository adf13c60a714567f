package console

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

// TestAckWith: reason and snooze are checked; the ack counter counts every
// ack, MTTA only the one that answered the page (not a re-ack of an alert
// already acknowledged).
func TestAckWith(t *testing.T) {
	f := newFixture(t)
	a := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical", "team": "db"})
	fp := a.Fingerprint().String()
	f.c.Observe(alertmanager.Attempt{Time: time.Now().Add(-time.Minute), Receiver: "team", Integration: "webhook", GroupKey: "{}:{alertname=\"Down\"}", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Attempt: 1})
	ctx := context.Background()

	for _, bad := range []AckRequest{
		{Fingerprints: []string{fp}, By: "alice", Reason: "bored"},
		{Fingerprints: []string{fp}, By: "alice", Until: time.Now().Add(8 * 24 * time.Hour)},
		{Fingerprints: []string{fp}, By: "alice", Until: time.Now().Add(-time.Minute)},
	} {
		_, err := f.c.AckWith(ctx, bad)
		require.Error(t, err, "%+v", bad)
	}
	require.Nil(t, f.c.States()[fp].Ack, "refused acks change nothing")

	_, err := f.c.AckWith(ctx, AckRequest{Fingerprints: []string{fp}, By: "PagerDuty: dana", Via: acks.ViaPagerDuty})
	require.NoError(t, err)
	st := f.c.States()[fp]
	require.Equal(t, acks.ReasonWorkingOn, st.Ack.Reason, "the default reason")
	require.Equal(t, "db", st.Team)
	_, err = f.c.AckWith(ctx, AckRequest{Fingerprints: []string{fp}, By: "alice", Reason: acks.ReasonFalsePositive})
	require.NoError(t, err)
	require.Equal(t, 2.0, value(t, f.reg, "smm_appliance_alert_acks_total"))
	require.Equal(t, 1, testutil.CollectAndCount(f.reg, "smm_appliance_alert_acknowledge_seconds"))
	h := f.history(t, history.KindAck)
	require.Len(t, h, 2)
	require.Equal(t, acks.ReasonFalsePositive, h[0].Reason)
	require.Equal(t, acks.ViaConsole, h[0].Via)
}

// TestLapseSnoozes: a lapsed snooze of a firing alert is recorded and sent
// again to the receivers the alert routes to, with the group key of its
// last notification there; a resolved one is only recorded.
func TestLapseSnoozes(t *testing.T) {
	f := newFixture(t)
	f.c.status = func(context.Context, *alert.Alert) (alert.AlertStatus, []string) {
		return alert.AlertStatus{State: alert.AlertStateActive}, []string{"team"}
	}
	type sent struct {
		receiver, groupKey string
		n                  int
	}
	var got []sent
	f.c.SetRenotifier(func(_ context.Context, receiver, groupKey string, as ...*alert.Alert) error {
		got = append(got, sent{receiver, groupKey, len(as)})
		return nil
	})
	a := f.put(t, model.LabelSet{"alertname": "Down", "severity": "critical"})
	fp := a.Fingerprint().String()
	f.c.Observe(alertmanager.Attempt{Time: time.Now(), Receiver: "team", Integration: "webhook", GroupKey: "gk-down", Alerts: []*alert.Alert{a}, Resolved: []bool{false}, Attempt: 1})
	until := time.Now().Add(2 * time.Second)
	_, err := f.c.AckWith(context.Background(), AckRequest{Fingerprints: []string{fp}, By: "alice", Until: until})
	require.NoError(t, err)

	f.c.LapseSnoozes(context.Background(), until.Add(-time.Second), 0)
	require.Empty(t, got)
	f.c.LapseSnoozes(context.Background(), until.Add(time.Second), 5*time.Second)
	require.Empty(t, got, "a later peer waits its turn")
	f.c.LapseSnoozes(context.Background(), until, 0)
	require.Equal(t, []sent{{"team", "gk-down", 1}}, got)
	require.Nil(t, f.c.States()[fp].Ack)
	require.Len(t, f.history(t, history.KindSnoozeLapsed), 1)
	f.c.LapseSnoozes(context.Background(), until.Add(time.Minute), 0)
	require.Len(t, got, 1, "once")
}
