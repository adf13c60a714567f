package alertmanager

import (
	"context"
	"fmt"
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
)

type nopCallback struct{}

func (nopCallback) PreStore(*alert.Alert, bool) error { return nil }
func (nopCallback) PostStore(*alert.Alert, bool)      {}
func (nopCallback) PostDelete(*alert.Alert)           {}
func (nopCallback) PostGC(model.Fingerprints)         {}

// TestAlertStoreBounds: new alerts over the count bound are refused and
// counted; updates of stored alerts and the appliance's own alerts pass.
func TestAlertStoreBounds(t *testing.T) {
	b := newAlertBounds(nopCallback{}, prometheus.NewRegistry())
	b.maxAlerts = 3
	store, err := mem.NewAlerts(context.Background(), time.Hour, 0, b, promslog.NewNopLogger(), eventrecorder.Recorder{}, prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	defer store.Close()
	now := time.Now()
	mk := func(name string) *alert.Alert {
		return alert.New(model.Alert{Labels: model.LabelSet{"alertname": model.LabelValue(name)}, StartsAt: now, EndsAt: now.Add(time.Hour)}, now, false)
	}
	for i := range 5 {
		require.NoError(t, store.Put(context.Background(), mk(fmt.Sprint("A", i))))
	}
	n, _ := b.usage()
	require.Equal(t, 3, n)
	require.Equal(t, 2.0, testutil.ToFloat64(b.refused.WithLabelValues("count")))
	require.ErrorIs(t, b.full(0), ErrAlertStoreFull)

	require.NoError(t, store.Put(context.Background(), mk("A0")), "an update passes")
	require.NoError(t, store.Put(context.Background(), mk(StorageFullAlert)))
	_, err = store.Get(mk(StorageFullAlert).Fingerprint())
	require.NoError(t, err, "the appliance's own alert is never refused")
}
