package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// TestDashboardsAPI: the list names each dashboard with the alerts that
// link to it; one dashboard comes whole; an unknown uid is a 404.
func TestDashboardsAPI(t *testing.T) {
	d, err := dashboards.Parse("dashboards/x.yml", []byte("uid: x\ntitle: X\nvariables:\n  - name: job\n    metric: up\npanels:\n  - title: Up\n    type: stat\n    expr: sum(up{job=~\"$job\"})\n"))
	require.NoError(t, err)
	d.Alerts = []dashboards.AlertRef{dashboards.NewAlertRef("Down", "up == 0")}
	h := WithDashboards(http.NotFoundHandler(), func() []*dashboards.Dashboard { return []*dashboards.Dashboard{d} })
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		return rec.Code, body
	}
	code, body := get("/api/v1/appliance/dashboards")
	require.Equal(t, http.StatusOK, code)
	list := body["data"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, "x", list[0].(map[string]any)["uid"])
	require.Equal(t, []any{"Down"}, list[0].(map[string]any)["alerts"])

	code, body = get("/api/v1/appliance/dashboards/x")
	require.Equal(t, http.StatusOK, code)
	one := body["data"].(map[string]any)
	require.Equal(t, "6h", one["time"], "the default range")
	alert := one["alerts"].([]any)[0].(map[string]any)
	require.Equal(t, "up", alert["query"])
	require.Equal(t, "==", alert["op"])
	require.InDelta(t, 0, alert["threshold"], 0)

	// A dashboard without variables or alerts has empty lists, not null.
	bare, err := dashboards.Parse("dashboards/y.yml", []byte("uid: y\ntitle: Y\npanels:\n  - title: Up\n    type: table\n    expr: up\n"))
	require.NoError(t, err)
	h = WithDashboards(http.NotFoundHandler(), func() []*dashboards.Dashboard { return []*dashboards.Dashboard{bare} })
	_, body = get("/api/v1/appliance/dashboards/y")
	require.Equal(t, []any{}, body["data"].(map[string]any)["variables"])
	require.Equal(t, []any{}, body["data"].(map[string]any)["alerts"])

	code, _ = get("/api/v1/appliance/dashboards/nope")
	require.Equal(t, http.StatusNotFound, code)
}
