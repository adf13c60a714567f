package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSilenceAndNotificationLogSurviveKill: a silence created through the v2
// API mutes notifications; after kill -9 and a restart on the same data
// directory the silence is still active, notifications already sent are not
// sent again, and samples written before the kill are queryable.
func TestSilenceAndNotificationLogSurviveKill(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg, data := copyConfig(t, "basic"), t.TempDir()
	env := basicEnv(exp, hook)
	a := startAppliance(t, cfg, data, env)

	// 1. A notification goes out.
	exp.set("e2e_value", 42)
	waitFor(t, 20*time.Second, "firing notification", func() bool { return len(hook.matching("E2EHighValue", "firing")) == 1 })

	// 2. A silence for the second alert, then the second alert fires.
	now := time.Now().UTC()
	code, body := postJSON(t, a.am+"/api/v2/silences", map[string]any{
		"matchers":  []map[string]any{{"name": "alertname", "value": "E2ESecond", "isRegex": false, "isEqual": true}},
		"startsAt":  now.Format(time.RFC3339),
		"endsAt":    now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "e2e",
		"comment":   "maintenance",
	})
	require.Equal(t, http.StatusOK, code, string(body))
	exp.set("e2e_second", 99)
	waitFor(t, 15*time.Second, "E2ESecond firing in rules", func() bool { return promAlertState(t, a, "E2ESecond") == "firing" })
	var v2 []struct {
		Status struct {
			State      string   `json:"state"`
			SilencedBy []string `json:"silencedBy"`
		} `json:"status"`
	}
	waitFor(t, 10*time.Second, "E2ESecond suppressed in Alertmanager", func() bool {
		getJSON(t, a.am+"/api/v2/alerts?filter=alertname%3D%22E2ESecond%22", &v2)
		return len(v2) == 1 && v2[0].Status.State == "suppressed"
	})
	time.Sleep(3 * time.Second) // several group intervals
	require.Empty(t, hook.matching("E2ESecond", "firing"), "silenced alert was notified")

	// Samples the TSDB acknowledged before the crash.
	before := time.Now()
	samplesBefore := query(t, a, `count_over_time(e2e_value[10m])`, before)
	require.Len(t, samplesBefore, 1)
	countBefore, err := strconv.ParseFloat(samplesBefore[0].Value[1].(string), 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, countBefore, 3.0)

	// 3. Crash.
	a.kill()
	firingBefore := len(hook.matching("E2EHighValue", "firing"))

	// 4. Restart on the same data directory.
	b := startAppliance(t, cfg, data, env)
	var sils []struct {
		ID     string `json:"id"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
		CreatedBy string `json:"createdBy"`
	}
	getJSON(t, b.am+"/api/v2/silences", &sils)
	require.Len(t, sils, 1, "silence lost in the crash")
	require.Equal(t, "active", sils[0].Status.State)
	require.Equal(t, "e2e", sils[0].CreatedBy)

	waitFor(t, 20*time.Second, "E2EHighValue firing again after restart", func() bool {
		getJSON(t, b.am+"/api/v2/alerts?filter=alertname%3D%22E2EHighValue%22", &v2)
		return len(v2) == 1
	})
	// group_wait 1s, group_interval 1s: give the dispatcher several rounds
	// in which it would re-send if the notification log had been lost.
	time.Sleep(5 * time.Second)
	require.Len(t, hook.matching("E2EHighValue", "firing"), firingBefore, "notification sent again after restart inside repeat_interval")
	require.Empty(t, hook.matching("E2ESecond", "firing"), "silenced alert notified after restart")

	after := query(t, b, `count_over_time(e2e_value[10m])`, before)
	require.Len(t, after, 1, "samples before the kill are gone")
	countAfter, err := strconv.ParseFloat(after[0].Value[1].(string), 64)
	require.NoError(t, err)
	require.Equal(t, countBefore, countAfter, "samples acknowledged before the kill were lost")
}
