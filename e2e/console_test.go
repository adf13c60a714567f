package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func consoleEnv(e *exporter, team, manager, director *webhook, bad string) map[string]string {
	return map[string]string{
		"E2E_EXPORTER":     e.addr(),
		"E2E_TEAM_URL":     team.srv.URL + "/team",
		"E2E_MANAGER_URL":  manager.srv.URL + "/manager",
		"E2E_DIRECTOR_URL": director.srv.URL + "/director",
		"E2E_BAD_URL":      bad,
	}
}

type consoleAlert struct {
	Fingerprint     string            `json:"fingerprint"`
	Labels          map[string]string `json:"labels"`
	Ack             *struct{ By, Comment string }
	FirstNotifiedAt *time.Time `json:"firstNotifiedAt"`
	Escalations     []struct {
		Step     int    `json:"step"`
		Receiver string `json:"receiver"`
	} `json:"escalations"`
}

func consoleAlerts(t *testing.T, a *appliance) map[string]consoleAlert {
	var resp struct {
		Data []consoleAlert `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/alerts", &resp)
	out := map[string]consoleAlert{}
	for _, al := range resp.Data {
		out[al.Labels["alertname"]] = al
	}
	return out
}

type historyEntry struct {
	Kind        string `json:"kind"`
	Receiver    string `json:"receiver"`
	Integration string `json:"integration"`
	Success     bool   `json:"success"`
	Error       string `json:"error"`
	Attempt     int    `json:"attempt"`
	Step        int    `json:"step"`
	User        string `json:"user"`
	Comment     string `json:"comment"`
	Alerts      []struct {
		Fingerprint string `json:"fingerprint"`
		Alertname   string `json:"alertname"`
		Status      string `json:"status"`
	} `json:"alerts"`
}

func historyOf(t *testing.T, a *appliance, params string) []historyEntry {
	var resp struct {
		Data []historyEntry `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/history?"+params, &resp)
	return resp.Data
}

// waitChecks waits for n more rounds of a's escalation engine: whatever
// they would escalate is in the Alertmanager by then.
func waitChecks(t *testing.T, a *appliance, n float64) {
	t.Helper()
	from := metricValue(t, a, "smm_appliance_escalation_checks_total")
	waitFor(t, 30*time.Second, "escalation rounds", func() bool {
		return metricValue(t, a, "smm_appliance_escalation_checks_total") >= from+n
	})
}

// countFor counts notifications received for an alert, whatever the group.
func (w *webhook) countFor(alertname string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, no := range w.got {
		for _, a := range no.Alerts {
			if a.Labels["alertname"] == alertname {
				n++
			}
		}
	}
	return n
}

// TestEscalation: an unacknowledged critical alert is escalated exactly once
// per step; an acknowledged or resolved one, and a warning, never are.
func TestEscalation(t *testing.T) {
	exp := newExporter(t)
	team, manager, director := newWebhook(t), newWebhook(t), newWebhook(t)
	a := startAppliance(t, copyConfig(t, "console"), t.TempDir(), consoleEnv(exp, team, manager, director, "http://127.0.0.1:1/none"))

	for _, m := range []string{"e2e_escalated", "e2e_acked", "e2e_resolved", "e2e_warning"} {
		exp.set(m, 1)
	}
	waitFor(t, 20*time.Second, "first notifications of all four alerts", func() bool {
		al := consoleAlerts(t, a)
		for _, n := range []string{"E2EEscalated", "E2EAcked", "E2EResolved", "E2EWarning"} {
			if al[n].FirstNotifiedAt == nil {
				return false
			}
		}
		return true
	})
	// Ack one, resolve one, well before the 4 s step.
	acked := consoleAlerts(t, a)["E2EAcked"]
	code, body := postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": []string{acked.Fingerprint}, "by": "alice", "comment": "on it"})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), acked.Fingerprint)
	exp.set("e2e_resolved", 0)

	// Step 1 after 4 s, step 2 after 8 s.
	waitFor(t, 20*time.Second, "step 2 escalation to the director", func() bool { return director.countFor("E2EEscalated") > 0 })
	waitChecks(t, a, 4) // several rounds of the engine: no repeats
	require.Equal(t, 1, manager.countFor("E2EEscalated"), "step 1 must be sent exactly once")
	require.Equal(t, 1, director.countFor("E2EEscalated"), "step 2 must be sent exactly once")
	for _, n := range []string{"E2EAcked", "E2EResolved", "E2EWarning"} {
		require.Zero(t, manager.countFor(n)+director.countFor(n), "%s must not be escalated", n)
	}
	manager.mu.Lock()
	esc := manager.got[0].Alerts[0].Labels
	manager.mu.Unlock()
	require.Equal(t, "true", esc["escalated"])
	require.Equal(t, "1", esc["escalation_step"])

	// The console shows both steps and the ack; the history has them too.
	al := consoleAlerts(t, a)
	require.Len(t, al["E2EEscalated"].Escalations, 2)
	require.NotNil(t, al["E2EAcked"].Ack)
	require.Equal(t, "alice", al["E2EAcked"].Ack.By)
	escs := historyOf(t, a, "kind=escalation")
	require.Len(t, escs, 2)
	for _, e := range escs {
		require.True(t, e.Success)
		require.Equal(t, "E2EEscalated", e.Alerts[0].Alertname)
		require.Equal(t, al["E2EEscalated"].Fingerprint, e.Alerts[0].Fingerprint, "an escalation is recorded under its alert")
	}
	// Escalations go through the Alertmanager and are no notifications of
	// phantom alerts: every notification entry names the real alert.
	for _, e := range historyOf(t, a, "kind=notification") {
		require.NotContains(t, []string{"manager", "director"}, e.Receiver, "an escalation recorded as a notification")
		for _, r := range e.Alerts {
			if ca, ok := al[r.Alertname]; ok {
				require.Equal(t, ca.Fingerprint, r.Fingerprint, "notification entry for a phantom %s", r.Alertname)
			}
		}
	}
	acks := historyOf(t, a, "kind=ack")
	require.Len(t, acks, 1)
	require.Equal(t, "alice", acks[0].User)
	require.Equal(t, "on it", acks[0].Comment)

	// MTTA is measured.
	_, metrics := httpGet(a.web + "/metrics")
	require.Contains(t, string(metrics), `smm_appliance_alert_acknowledge_seconds_count{alertname="E2EAcked",severity="critical",team="platform",via="console"} 1`)

	// Un-ack works and is recorded.
	req, _ := http.NewRequest(http.MethodDelete, a.web+"/api/v1/appliance/acks/"+acked.Fingerprint+"?by=alice", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, historyOf(t, a, "kind=unack"), 1)
	// Un-acked and long overdue: both steps follow, once each.
	waitFor(t, 10*time.Second, "escalation resumes after un-ack", func() bool { return director.countFor("E2EAcked") == 1 })
	require.Equal(t, 1, manager.countFor("E2EAcked"))

	// Escalation state survives a restart: nothing is escalated twice.
	a.stop()
	b := startAppliance(t, a.dataDirConfig(), a.dataDir, consoleEnv(exp, team, manager, director, "http://127.0.0.1:1/none"))
	waitChecks(t, b, 4)
	require.Equal(t, 1, manager.countFor("E2EEscalated"), "escalated again after restart")
	require.Equal(t, 1, director.countFor("E2EEscalated"), "escalated again after restart")
	require.Equal(t, 1, manager.countFor("E2EAcked"), "escalated again after restart")
	require.Len(t, historyOf(t, b, "kind=escalation"), 4, "history lost in restart")
}

// TestNotificationHistory: with one failing and one working receiver, the
// history holds both attempts with the right outcome, survives a restart,
// and filters work.
func TestNotificationHistory(t *testing.T) {
	exp := newExporter(t)
	team, manager, director := newWebhook(t), newWebhook(t), newWebhook(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "receiver is down for maintenance", http.StatusInternalServerError)
	}))
	t.Cleanup(bad.Close)
	cfg, data := copyConfig(t, "console"), t.TempDir()
	env := consoleEnv(exp, team, manager, director, bad.URL+"/bad")
	a := startAppliance(t, cfg, data, env)

	exp.set("e2e_history", 1)
	waitFor(t, 30*time.Second, "a success for good and failures for bad", func() bool {
		good := historyOf(t, a, "receiver=good&status=success")
		failed := historyOf(t, a, "receiver=bad&status=failure")
		return len(good) > 0 && len(failed) > 1
	})
	good := historyOf(t, a, "receiver=good")
	require.True(t, good[0].Success)
	require.Equal(t, "webhook", good[0].Integration)
	require.Equal(t, "E2EHistory", good[0].Alerts[0].Alertname)
	require.Equal(t, "firing", good[0].Alerts[0].Status)
	failed := historyOf(t, a, "receiver=bad")
	require.False(t, failed[0].Success)
	require.Contains(t, failed[0].Error, "500")
	// Every failed try is its own entry, numbered within its flush (with
	// group_interval 1s each flush here gets about one try).
	require.Greater(t, len(failed), 1, "retries are recorded: %+v", failed)
	for _, f := range failed {
		require.GreaterOrEqual(t, f.Attempt, 1)
	}

	// Filters: by alertname, by time range.
	require.NotEmpty(t, historyOf(t, a, "alertname=E2EHistory"))
	require.Empty(t, historyOf(t, a, "alertname=NoSuchAlert"))
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	require.Empty(t, historyOf(t, a, "since="+future))
	code, _ := httpGet(a.web + "/api/v1/appliance/history?status=maybe")
	require.Equal(t, http.StatusBadRequest, code)

	// The delivery ratio metric reflects the failures.
	_, metrics := httpGet(a.web + "/metrics")
	require.Contains(t, string(metrics), `smm_appliance_notification_attempts_total{integration="webhook",outcome="failure",receiver="bad"}`)

	a.stop()
	before := len(historyOf(t, a.restartCheck(t, cfg, env), "receiver=bad"))
	require.GreaterOrEqual(t, before, len(failed), "history lost in restart")
}

// dataDirConfig is unused by default configs; console tests keep the config
// dir in the appliance's argument list.
func (a *appliance) dataDirConfig() string {
	for i, arg := range a.cmd.Args {
		if arg == "--config.dir" && i+1 < len(a.cmd.Args) {
			return a.cmd.Args[i+1]
		}
	}
	return ""
}

func (a *appliance) restartCheck(t *testing.T, cfg string, env map[string]string) *appliance {
	return startAppliance(t, cfg, a.dataDir, env)
}

var _ = fmt.Sprint
var _ = strings.Contains
