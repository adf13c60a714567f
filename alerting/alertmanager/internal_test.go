package alertmanager

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// TestInternalAlertsCarryExternalLabels: the appliance's own alerts get
// prometheus.yml's external labels as rule alerts do (their own labels win),
// and when the external labels arrive after the alert was raised — damaged
// files are raised before the first configuration — the alert without them
// is resolved rather than left firing beside the new one.
func TestInternalAlertsCarryExternalLabels(t *testing.T) {
	am, err := New(Options{DataDir: t.TempDir()}, promslog.NewNopLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	defer am.Close()

	am.StorageFull(true, errors.New("no space left on device"))
	bare := internalLabels(StorageFullAlert)
	a, err := am.Alerts().Get(bare.Fingerprint())
	require.NoError(t, err)
	require.False(t, a.Resolved())

	am.SetExternalLabels(model.LabelSet{"environment": "production", "team": "not-this"})
	withEnv := internalLabels(StorageFullAlert)
	withEnv["environment"] = "production"
	a, err = am.Alerts().Get(withEnv.Fingerprint())
	require.NoError(t, err, "put again with the external labels")
	require.False(t, a.Resolved())
	require.Equal(t, model.LabelValue("platform"), a.Labels["team"], "the alert's own label wins")
	first := a.StartsAt

	old, err := am.Alerts().Get(bare.Fingerprint())
	require.NoError(t, err)
	require.True(t, old.Resolved(), "the alert without external labels is resolved")

	am.SetExternalLabels(model.LabelSet{"environment": "production"})
	a, err = am.Alerts().Get(withEnv.Fingerprint())
	require.NoError(t, err)
	require.False(t, a.Resolved(), "unchanged labels: the same alert goes on")
	require.Equal(t, first, a.StartsAt)

	am.StorageFull(false, nil)
	require.Eventually(t, func() bool {
		a, err := am.Alerts().Get(withEnv.Fingerprint())
		return err == nil && a.ResolvedAt(time.Now().Add(time.Millisecond))
	}, 5*time.Second, 10*time.Millisecond, "cleared when space returns")
}
