package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAlertLifecycle follows one alert from a threshold crossing at a real
// exporter through pending and firing in both APIs and the TSDB, to the
// webhook receiver, and back to resolved.
func TestAlertLifecycle(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	a := startAppliance(t, copyConfig(t, "basic"), t.TempDir(), basicEnv(exp, hook))

	exp.set("e2e_value", 42)
	waitFor(t, 15*time.Second, "E2EHighValue pending", func() bool { return promAlertState(t, a, "E2EHighValue") == "pending" })
	require.Empty(t, hook.matching("E2EHighValue", "firing"), "a pending alert must not notify")
	waitFor(t, 15*time.Second, "E2EHighValue firing", func() bool { return promAlertState(t, a, "E2EHighValue") == "firing" })

	// The embedded Alertmanager holds it, in v2 and in the v1 shape.
	var v2 []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	waitFor(t, 10*time.Second, "alert in /api/v2/alerts", func() bool {
		getJSON(t, a.am+"/api/v2/alerts?filter=alertname%3D%22E2EHighValue%22", &v2)
		return len(v2) == 1
	})
	require.Equal(t, "active", v2[0].Status.State)
	require.Equal(t, "e2e", v2[0].Labels["environment"], "external label applied on the in-memory path")
	var v1 struct {
		Status string `json:"status"`
		Data   []struct {
			Labels    map[string]string `json:"labels"`
			Receivers []string          `json:"receivers"`
		} `json:"data"`
	}
	getJSON(t, a.am+"/api/v1/alerts", &v1)
	require.Equal(t, "success", v1.Status)
	require.NotEmpty(t, v1.Data)
	require.Equal(t, []string{"webhook"}, v1.Data[0].Receivers)
	// Same API through the web listener.
	code, _ := httpGet(a.web + "/alertmanager/api/v2/alerts")
	require.Equal(t, http.StatusOK, code)

	// ALERTS is written to the TSDB.
	waitFor(t, 10*time.Second, "ALERTS firing series", func() bool {
		return len(query(t, a, `ALERTS{alertname="E2EHighValue",alertstate="firing"}`, time.Time{})) == 1
	})

	waitFor(t, 15*time.Second, "firing notification at the webhook", func() bool { return len(hook.matching("E2EHighValue", "firing")) > 0 })
	n := hook.matching("E2EHighValue", "firing")[0]
	require.Equal(t, "webhook", n.Receiver)
	require.Len(t, n.Alerts, 1)
	lbls := n.Alerts[0].Labels
	require.Equal(t, "E2EHighValue", lbls["alertname"])
	require.Equal(t, "critical", lbls["severity"])
	require.Equal(t, "platform", lbls["team"])
	require.Equal(t, "exporter", lbls["job"])
	require.Equal(t, "e2e", lbls["environment"])
	require.Equal(t, "e2e_value is 42", n.Alerts[0].Annotations["summary"])

	exp.set("e2e_value", 1)
	waitFor(t, 20*time.Second, "resolved notification at the webhook", func() bool { return len(hook.matching("E2EHighValue", "resolved")) > 0 })
	require.Equal(t, "resolved", hook.matching("E2EHighValue", "resolved")[0].Alerts[0].Status)

	a.stop() // SIGTERM: clean exit within 10 s
}
