package dashboards

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewAlertRef: the value compared and the threshold of the shapes the
// shipped rules use.
func TestNewAlertRef(t *testing.T) {
	for _, tc := range []struct {
		expr, query, op string
		threshold       *float64
	}{
		{"smm_connector_up == 0\nor\nlabel_replace(up == 0, \"a\", \"b\", \"\", \"\")", "smm_connector_up", "==", ptr(0)},
		{"(smm_connector_token_expiry_timestamp_seconds > 0) - time() < 72 * 3600", "(smm_connector_token_expiry_timestamp_seconds > 0) - time()", "<", ptr(259200)},
		{"deriv(process_resident_memory_bytes[1h]) * 3600 > 2^30", "deriv(process_resident_memory_bytes[1h]) * 3600", ">", ptr(1 << 30)},
		{"sum(rate(a[5m])) / sum(rate(b[5m])) > 0.05", "sum(rate(a[5m])) / sum(rate(b[5m]))", ">", ptr(0.05)},
		{"0.8 > smm_canary_quality_score", "smm_canary_quality_score", "<", ptr(0.8)},
		{"vector(1)", "vector(1)", "", nil},
		{"label_replace(increase(x[3h]) > 0, \"f\", \"c\", \"\", \"\") or label_replace(y > 0, \"f\", \"w\", \"\", \"\")", "increase(x[3h])", ">", ptr(0)},
		{"not promql (", "not promql (", "", nil},
	} {
		r := NewAlertRef("A", tc.expr)
		require.Empty(t, r.ThresholdQuery)
		require.Equal(t, tc.query, r.Query, tc.expr)
		require.Equal(t, tc.op, r.Op, tc.expr)
		require.Equal(t, tc.threshold, r.Threshold, tc.expr)
	}
}

// TestNewAlertRefAgainstSeries: a comparison with another expression keeps
// it, to be drawn as the threshold.
func TestNewAlertRefAgainstSeries(t *testing.T) {
	r := NewAlertRef("A", "delta(spent[24h]) * 7 > weekly")
	require.Equal(t, "delta(spent[1d]) * 7", r.Query, "as PromQL prints it")
	require.Equal(t, "weekly", r.ThresholdQuery)
	require.Equal(t, ">", r.Op)
	require.Nil(t, r.Threshold)
}

func ptr(v float64) *float64 { return &v }

// TestLinkedUID reads the dashboard and variables of a dashboard_url.
func TestLinkedUID(t *testing.T) {
	uid, vars, ok := LinkedUID(`{{ $externalURL }}/#/dashboards/smm-connectors?var-instance={{ $labels.instance | urlquery }}&var-connector={{ $labels.connector | urlquery }}&alert=SMM_ConnectorDown`)
	require.True(t, ok)
	require.Equal(t, "smm-connectors", uid)
	require.Equal(t, []string{"instance", "connector"}, vars)
	_, _, ok = LinkedUID("https://grafana.example/d/x")
	require.False(t, ok)
}

// TestExpand: All matches everything; a value is matched literally.
func TestExpand(t *testing.T) {
	require.Equal(t, `up{instance=~".*"}`, Expand(`up{instance=~"$instance"}`, map[string]string{"instance": All}))
	require.Equal(t, `up{instance=~"127\\.0\\.0\\.1:9101"}`, Expand(`up{instance=~"${instance}"}`, map[string]string{"instance": "127.0.0.1:9101"}))
}
