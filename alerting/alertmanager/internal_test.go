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
// prometheus.yml's external labels as rule alerts do (their own labels win).
// One raised before the first configuration (a damaged file at start) is
// not put until the labels are known, so no unlabelled twin reaches the
// first notification; when the operator changes the labels, the old
// identity is resolved.
func TestInternalAlertsCarryExternalLabels(t *testing.T) {
	am, err := New(Options{DataDir: t.TempDir()}, promslog.NewNopLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	defer am.Close()

	am.StorageFull(true, errors.New("no space left on device"))
	bare := internalLabels(StorageFullAlert)
	_, err = am.Alerts().Get(bare.Fingerprint())
	require.Error(t, err, "not put before the external labels are known")

	am.SetExternalLabels(model.LabelSet{"environment": "production", "team": "not-this"}) // the first configuration
	withEnv := internalLabels(StorageFullAlert)
	withEnv["environment"] = "production"
	a, err := am.Alerts().Get(withEnv.Fingerprint())
	require.NoError(t, err, "put with the external labels")
	require.False(t, a.Resolved())
	require.Equal(t, model.LabelValue("platform"), a.Labels["team"], "the alert's own label wins")
	first := a.StartsAt

	_, err = am.Alerts().Get(bare.Fingerprint())
	require.Error(t, err, "no twin without the external labels")

	am.SetExternalLabels(model.LabelSet{"environment": "production", "team": "not-this"})
	a, err = am.Alerts().Get(withEnv.Fingerprint())
	require.NoError(t, err)
	require.False(t, a.Resolved(), "unchanged labels: the same alert goes on")
	require.Equal(t, first, a.StartsAt)

	am.SetExternalLabels(model.LabelSet{"environment": "staging"})
	old, err := am.Alerts().Get(withEnv.Fingerprint())
	require.NoError(t, err)
	require.True(t, old.Resolved(), "the operator changed the labels: the old identity is resolved")
	withEnv["environment"] = "staging"

	am.StorageFull(false, nil)
	require.Eventually(t, func() bool {
		a, err := am.Alerts().Get(withEnv.Fingerprint())
		return err == nil && a.ResolvedAt(time.Now().Add(time.Millisecond))
	}, 5*time.Second, 10*time.Millisecond, "cleared when space returns")
}
