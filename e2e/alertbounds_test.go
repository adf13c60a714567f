package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlertStoreBoundFlag: --alertmanager.max-alerts bounds the alert store
// as the flag says, and a POST is stored whole or refused whole with 507:
// a request whose new alerts straddle the bound is not answered 200 with
// some of them dropped (a 10k storm lost 51 alerts that way), and a
// request at the full store is refused before it is parsed.
func TestAlertStoreBoundFlag(t *testing.T) {
	const bound = 50
	exp, hook := newExporter(t), newWebhook(t)
	a := startAppliance(t, "", t.TempDir(), basicEnv(exp, hook), fmt.Sprintf("--alertmanager.max-alerts=%d", bound))

	batch := func(prefix string, n int) []map[string]any {
		var out []map[string]any
		for i := range n {
			out = append(out, map[string]any{"labels": map[string]string{"alertname": "E2EBound", "batch": prefix, "n": fmt.Sprint(i)}})
		}
		return out
	}
	posted := func(prefix string) int {
		n := 0
		var list []stateAlert
		getJSON(t, a.am+"/api/v2/alerts", &list)
		for _, x := range list {
			if x.Labels["alertname"] == "E2EBound" && x.Labels["batch"] == prefix {
				n++
			}
		}
		return n
	}
	stored := func() int { return int(metricValue(t, a, "smm_appliance_alert_store_alerts")) }

	// Whatever the shipped rules fire counts too; leave room for 30.
	base := stored()
	require.Less(t, base, bound-30)
	room := bound - base

	code, body := postJSON(t, a.am+"/api/v2/alerts", batch("first", room-10))
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.Equal(t, room-10, posted("first"))

	// 20 new alerts where 10 fit (a few shipped alerts may have come or
	// gone meanwhile; 20 never fit in 10 ± that).
	for _, u := range []string{a.am + "/api/v2/alerts", a.am + "/api/v2/alerts/"} {
		code, body = postJSON(t, u, batch("straddle", 20))
		require.Equal(t, http.StatusInsufficientStorage, code, "%s: %s", u, body)
		require.Contains(t, string(body), "--alertmanager.max-alerts")
		require.Zero(t, posted("straddle"), "nothing of a refused request is stored")
	}

	// The same alerts again as updates, with the last ones that fit: 200.
	code, body = postJSON(t, a.am+"/api/v2/alerts", append(batch("first", room-10), batch("fits", bound-stored())...))
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.Equal(t, bound, stored())

	// At the bound: refused up front, on both listeners, and counted.
	for _, u := range []string{a.am + "/api/v2/alerts", a.am + "/api/v2/alerts/", a.web + "/alertmanager/api/v2/alerts", a.web + "/alertmanager/api/v2/alerts/"} {
		code, body = postJSON(t, u, batch("over", 1))
		require.Equal(t, http.StatusInsufficientStorage, code, "%s: %s", u, body)
		require.True(t, strings.HasPrefix(string(body), "alerts refused: alert store full"), "%s", body)
	}
	require.Zero(t, posted("over"))
	require.GreaterOrEqual(t, metricValue(t, a, "smm_appliance_alerts_refused_total"), 5.0)
	require.Equal(t, bound, stored())
}
