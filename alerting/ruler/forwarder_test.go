package ruler

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/notifier"
	"github.com/stretchr/testify/require"
)

// TestForwarderAppliesExternalLabelsAndRelabelling: alerts reach the
// Alertmanager store with external labels added (the alert's own label
// wins) and alert_relabel_configs applied, as Prometheus' notifier does.
func TestForwarderAppliesExternalLabelsAndRelabelling(t *testing.T) {
	cfg, err := promconfig.Load(`
global:
  external_labels:
    environment: staging
    region: eu
alerting:
  alert_relabel_configs:
    - source_labels: [alertname]
      regex: Dropped
      action: drop
    - target_label: relabelled
      replacement: "yes"
`, promslog.NewNopLogger())
	require.NoError(t, err)

	logger := promslog.NewNopLogger()
	store, err := mem.NewAlerts(context.Background(), time.Hour, 0, nil, logger, eventrecorder.Recorder{}, prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	defer store.Close()
	f := NewForwarder(store, logger)
	require.NoError(t, f.ApplyConfig(cfg))

	now := time.Now()
	f.Send(
		&notifier.Alert{Labels: labels.FromStrings("alertname", "Kept", "region", "us"), Annotations: labels.FromStrings("summary", "s"), StartsAt: now, EndsAt: now.Add(time.Minute)},
		&notifier.Alert{Labels: labels.FromStrings("alertname", "Dropped"), StartsAt: now, EndsAt: now.Add(time.Minute)},
	)

	it := store.GetPending()
	defer it.Close()
	var got []map[string]string
	for a := range it.Next() {
		m := map[string]string{}
		for k, v := range a.Data.Labels {
			m[string(k)] = string(v)
		}
		got = append(got, m)
	}
	require.Equal(t, []map[string]string{{
		"alertname": "Kept", "environment": "staging", "region": "us", "relabelled": "yes",
	}}, got)
}
