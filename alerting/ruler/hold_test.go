package ruler

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/notifier"
	"github.com/stretchr/testify/require"
)

// TestHoldKeepsFiringAlertsAndStopsWatchdog: while the storage is full the
// rules' resolution of a firing alert is dropped and the alert stays firing
// with its first startsAt; the Watchdog is resolved; after release the rule
// firing again carries the same identity on.
func TestHoldKeepsFiringAlertsAndStopsWatchdog(t *testing.T) {
	store, f := newHoldForwarder(t)

	start := time.Now().Add(-time.Hour)
	down := &notifier.Alert{Labels: labels.FromStrings("alertname", "ConnectorDown"), StartsAt: start, EndsAt: time.Now().Add(time.Minute)}
	wd := &notifier.Alert{Labels: labels.FromStrings("alertname", "Watchdog"), StartsAt: start, EndsAt: time.Now().Add(time.Minute)}
	f.Send(down, wd)
	fp := model.LabelSet{"alertname": "ConnectorDown"}.Fingerprint()
	wfp := model.LabelSet{"alertname": "Watchdog"}.Fingerprint()

	f.Hold(true, "storage full")
	w, err := store.Get(wfp)
	require.NoError(t, err)
	require.True(t, w.Resolved(), "the Watchdog stops while the storage is full")

	// Input aged out: the rule resolves it.
	resolved := *down
	resolved.EndsAt = time.Now().Add(-time.Second)
	f.Send(&resolved, wd)
	a, err := store.Get(fp)
	require.NoError(t, err)
	require.False(t, a.Resolved(), "held, not resolved for lack of input")
	require.Contains(t, string(a.Annotations[HeldAnnotation]), "storage full")
	require.Len(t, f.Held(), 1)
	w, _ = store.Get(wfp)
	require.True(t, w.Resolved(), "the Watchdog is not forwarded while holding")

	// Space returns; the rule fires it again with a later startsAt.
	f.Hold(false, "")
	again := &notifier.Alert{Labels: down.Labels, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Minute)}
	f.Send(again)
	a, _ = store.Get(fp)
	require.False(t, a.Resolved())
	require.WithinDuration(t, start, a.StartsAt, time.Second, "the first startsAt carries on")
	require.Empty(t, f.Held(), "fired again: no longer held")
}

// TestHoldTrustsResolutionsAfterRelease: once space is back, a resolution
// dated after the release (the rule saw stored input) passes; one dated
// during the full period stays dropped.
func TestHoldTrustsResolutionsAfterRelease(t *testing.T) {
	store, f := newHoldForwarder(t)
	start := time.Now().Add(-time.Hour)
	disk := &notifier.Alert{Labels: labels.FromStrings("alertname", "OwnDiskNearlyFull"), StartsAt: start, EndsAt: time.Now().Add(time.Minute)}
	f.Send(disk)
	fp := model.LabelSet{"alertname": "OwnDiskNearlyFull"}.Fingerprint()

	f.Hold(true, "storage full")
	stale := *disk
	stale.EndsAt = time.Now()
	time.Sleep(10 * time.Millisecond)
	f.Hold(false, "")
	f.Send(&stale)
	a, _ := store.Get(fp)
	require.False(t, a.Resolved(), "resolved during the full period: still held")

	time.Sleep(10 * time.Millisecond)
	fresh := *disk
	fresh.EndsAt = time.Now()
	f.Send(&fresh)
	a, _ = store.Get(fp)
	require.True(t, a.ResolvedAt(time.Now().Add(time.Millisecond)), "resolved on stored input: passes")
	require.Empty(t, f.Held())
}

// newHoldForwarder is a forwarder into a real in-memory alert store, closed
// with the test.
func newHoldForwarder(t *testing.T) (*mem.Alerts, *Forwarder) {
	t.Helper()
	logger := promslog.NewNopLogger()
	store, err := mem.NewAlerts(context.Background(), time.Hour, 0, nil, logger, eventrecorder.Recorder{}, prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	t.Cleanup(store.Close)
	f := NewForwarder(store, logger)
	require.NoError(t, f.ApplyConfig(&promconfig.Config{}))
	return store, f
}
