package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Issue 14: state the appliance promises to keep (acks, silences), honest
// answers on a full disk, paging through a sudden disk fill, and damaged
// state files. The appliance is the real binary, killed with SIGKILL; the
// full disk is a tmpfs the test fills.

// stateAlert is an alert of the Alertmanager v2 API.
type stateAlert struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// stateAlertNamed returns the active alert named name, if any.
func stateAlertNamed(t *testing.T, a *appliance, name string) (stateAlert, bool) {
	t.Helper()
	var list []stateAlert
	code, body := httpGet(a.am + "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil {
		return stateAlert{}, false
	}
	for _, x := range list {
		if x.Labels["alertname"] == name && x.EndsAt.After(time.Now()) {
			return x, true
		}
	}
	return stateAlert{}, false
}

func postAlert(t *testing.T, a *appliance, name string) string {
	t.Helper()
	code, body := postJSON(t, a.am+"/api/v2/alerts", []map[string]any{{
		"labels":   map[string]string{"alertname": name, "severity": "critical", "team": "platform"},
		"startsAt": time.Now().UTC().Format(time.RFC3339),
	}})
	require.Equal(t, http.StatusOK, code, "post alert: %s", body)
	var fp string
	waitFor(t, 10*time.Second, name+" in the alert store", func() bool {
		x, ok := stateAlertNamed(t, a, name)
		fp = x.Fingerprint
		return ok
	})
	return fp
}

func ack(t *testing.T, a *appliance, fps ...string) (int, []byte) {
	t.Helper()
	return postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": fps, "by": "e2e", "comment": "mine"})
}

func unack(t *testing.T, a *appliance, fp string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, a.web+"/api/v1/appliance/acks/"+fp+"?by=e2e", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// ackedFingerprints lists the acked alerts of the appliance API.
func ackedFingerprints(t *testing.T, a *appliance) map[string]bool {
	t.Helper()
	var resp struct {
		Data []struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/acks", &resp)
	out := map[string]bool{}
	for _, s := range resp.Data {
		out[s.Fingerprint] = true
	}
	return out
}

// requireAckedFor polls for d that fp stays acked, in the API and in
// acks.json.
func requireAckedFor(t *testing.T, a *appliance, fp string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(2 * time.Second) {
		require.True(t, ackedFingerprints(t, a)[fp], "ack of %s lost %s after the restart", fp, d-time.Until(end))
	}
	b, err := os.ReadFile(filepath.Join(a.dataDir, "acks", "acks.json"))
	require.NoError(t, err)
	require.Contains(t, string(b), fp, "ack not in acks.json")
}

func stateEnv(e *exporter, w *webhook) map[string]string {
	return map[string]string{"E2E_EXPORTER": e.addr(), "E2E_WEBHOOK_URL": w.srv.URL + "/hook"}
}

// TestReliabilityAckSurvivesKill: an ack answered 200 and then SIGKILL within
// a second is there 60 s after the restart (it was gone at +26 s: the alert
// store, snapshotted every 5 s, had no record of the alert and the
// escalation engine forgot the ack). Then the same with a damaged
// alerts.json: the acks are kept, the file moved aside.
func TestReliabilityAckSurvivesKill(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg, data := copyConfig(t, "reliability/state"), t.TempDir()
	a := startAppliance(t, cfg, data, stateEnv(exp, hook))
	fp := postAlert(t, a, "E2EAcked")
	code, body := ack(t, a, fp)
	require.Equal(t, http.StatusOK, code, "ack: %s", body)
	a.kill()

	b := startAppliance(t, cfg, data, stateEnv(exp, hook))
	requireAckedFor(t, b, fp, 60*time.Second)

	// Damaged alerts.json: written on the clean stop, then cut.
	b.stop()
	alerts := filepath.Join(data, "alertmanager", "alerts.json")
	require.NoError(t, os.WriteFile(alerts, []byte(`[{"labels":{"alertname":`), 0o640))
	c := startAppliance(t, cfg, data, stateEnv(exp, hook))
	requireAckedFor(t, c, fp, 35*time.Second)
	moved, _ := filepath.Glob(alerts + ".corrupt-*")
	require.Len(t, moved, 1, "the damaged alerts.json is kept aside")
}

// TestReliabilityDamagedStateFiles: a damaged acks.json and nflog do not stop
// the start; they are moved aside, a critical alert names each, the audit log
// records it, and the silences are intact.
func TestReliabilityDamagedStateFiles(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg, data := copyConfig(t, "reliability/state"), t.TempDir()
	a := startAppliance(t, cfg, data, stateEnv(exp, hook))
	now := time.Now().UTC()
	code, body := postJSON(t, a.am+"/api/v2/silences", map[string]any{
		"matchers": []map[string]any{{"name": "alertname", "value": "E2EKeptSilence", "isRegex": false, "isEqual": true}},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "e2e", "comment": "kept",
	})
	require.Equal(t, http.StatusOK, code, "silence: %s", body)
	fp := postAlert(t, a, "E2EAcked")
	code, body = ack(t, a, fp)
	require.Equal(t, http.StatusOK, code, "ack: %s", body)
	a.stop()

	acksPath := filepath.Join(data, "acks", "acks.json")
	nflogPath := filepath.Join(data, "alertmanager", "nflog")
	require.NoError(t, os.WriteFile(acksPath, []byte(`{"version":2,"states":[{`), 0o640))
	require.NoError(t, os.WriteFile(nflogPath, []byte("\xff\xff\xff\xff garbage"), 0o640))

	started := time.Now()
	b := startAppliance(t, cfg, data, stateEnv(exp, hook))
	waitFor(t, 60*time.Second, "SMM_ApplianceStateFileDamaged page for acks.json and nflog", func() bool {
		files := map[string]bool{}
		for _, n := range hook.matching("SMM_ApplianceStateFileDamaged", "firing") {
			for _, al := range n.Alerts {
				files[al.Labels["file"]] = al.Labels["severity"] == "critical"
			}
		}
		return files[acksPath] && files[nflogPath]
	})
	t.Logf("damaged acks.json and nflog: started, paged %s after the start", time.Since(started).Round(100*time.Millisecond))
	// Raised before the configuration was loaded, they still carry its
	// external labels, and no twin without them was sent or resolved.
	for _, n := range hook.matching("SMM_ApplianceStateFileDamaged", "firing") {
		for _, al := range n.Alerts {
			require.Equal(t, "e2e", al.Labels["environment"], "external labels on %v", al.Labels)
		}
	}
	require.Empty(t, hook.matching("SMM_ApplianceStateFileDamaged", "resolved"), "no resolved twin")
	for _, p := range []string{acksPath, nflogPath} {
		moved, _ := filepath.Glob(p + ".corrupt-*")
		require.Len(t, moved, 1, "%s kept aside", p)
	}
	var audit struct {
		Data []struct {
			Event string `json:"event"`
			Path  string `json:"path"`
		} `json:"data"`
	}
	getJSON(t, b.web+"/api/v1/appliance/audit?event=state_file_damaged", &audit)
	paths := map[string]bool{}
	for _, e := range audit.Data {
		paths[e.Path] = e.Event == "state_file_damaged"
	}
	require.True(t, paths[acksPath] && paths[nflogPath], "audit log: %+v", audit.Data)
	_, body = httpGet(b.am + "/api/v2/silences")
	require.Contains(t, string(body), "E2EKeptSilence", "the silences are intact")
}

// TestReliabilityFullDiskRefusesWrites: on a full data disk, a silence, an
// ack and an un-ack are refused with 507 and not applied; after SIGKILL and a
// restart with space, everything answered 200 is there and nothing refused
// is.
func TestReliabilityFullDiskRefusesWrites(t *testing.T) {
	mnt := mountTmpfs(t, 64<<20)
	data := filepath.Join(mnt, "data")
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "reliability/state")
	a := startAppliance(t, cfg, data, stateEnv(exp, hook))
	kept := postAlert(t, a, "E2EAckedBefore")
	other := postAlert(t, a, "E2ENotAcked")
	code, body := ack(t, a, kept)
	require.Equal(t, http.StatusOK, code, "ack: %s", body)

	fill(t, filepath.Join(mnt, "ballast"), -1)
	now := time.Now().UTC()
	silCode, silBody := postJSON(t, a.am+"/api/v2/silences", map[string]any{
		"matchers": []map[string]any{{"name": "alertname", "value": "E2EFullSilence", "isRegex": false, "isEqual": true}},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "e2e", "comment": "made while the disk is full",
	})
	ackCode, ackBody := ack(t, a, other)
	unackCode := unack(t, a, kept)
	t.Logf("full disk: silence POST %d (%s), ack %d (%s), un-ack %d", silCode, strings.TrimSpace(string(silBody)), ackCode, strings.TrimSpace(string(ackBody)), unackCode)
	require.Equal(t, http.StatusInsufficientStorage, silCode)
	require.Equal(t, http.StatusInsufficientStorage, ackCode)
	require.Equal(t, http.StatusInsufficientStorage, unackCode)
	acked := ackedFingerprints(t, a)
	require.True(t, acked[kept], "a refused un-ack is not in force")
	require.False(t, acked[other], "a refused ack is not in force")
	_, body = httpGet(a.am + "/api/v2/silences")
	require.NotContains(t, string(body), "E2EFullSilence", "a refused silence is not in force")

	a.kill()
	require.NoError(t, os.Remove(filepath.Join(mnt, "ballast")))
	b := startAppliance(t, cfg, data, stateEnv(exp, hook))
	acked = ackedFingerprints(t, b)
	require.True(t, acked[kept], "the ack answered 200 survives")
	require.False(t, acked[other])
	_, body = httpGet(b.am + "/api/v2/silences")
	require.NotContains(t, string(body), "E2EFullSilence")
}

// TestReliabilityStorageFullPages: the disk fills at once during an outage.
// The on-call is paged that the storage is full (an alert raised in-process),
// the Watchdog stops, the outage alert stays firing although its input
// cannot be stored, and after space returns it carries on with the same
// startsAt and fingerprint.
func TestReliabilityStorageFullPages(t *testing.T) {
	mnt := mountTmpfs(t, 64<<20)
	data := filepath.Join(mnt, "data")
	exp, hook := newExporter(t), newWebhook(t)
	exp.set("e2e_down", 1)
	cfg := copyConfig(t, "reliability/state")
	a := startAppliance(t, cfg, data, stateEnv(exp, hook))
	waitFor(t, 30*time.Second, "E2EConnectorDown and Watchdog notified", func() bool {
		return len(hook.matching("E2EConnectorDown", "firing")) > 0 && len(hook.matching("Watchdog", "firing")) > 0
	})
	before, ok := stateAlertNamed(t, a, "E2EConnectorDown")
	require.True(t, ok)
	code, body := ack(t, a, before.Fingerprint)
	require.Equal(t, http.StatusOK, code, "ack: %s", body)

	fill(t, filepath.Join(mnt, "ballast"), -1)
	fullAt := time.Now()
	waitFor(t, 60*time.Second, "SMM_ApplianceStorageFull paged", func() bool {
		return len(hook.matching("SMM_ApplianceStorageFull", "firing")) > 0
	})
	paged := time.Since(fullAt)
	waitFor(t, 30*time.Second, "Watchdog stopped", func() bool {
		_, firing := stateAlertNamed(t, a, "Watchdog")
		return !firing
	})
	watchdogStopped := time.Since(fullAt)

	// 45 s full: three times the rule's range; the outage stays firing,
	// marked as held.
	for end := time.Now().Add(45 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		x, ok := stateAlertNamed(t, a, "E2EConnectorDown")
		require.True(t, ok, "E2EConnectorDown resolved %s after the disk filled", time.Since(fullAt))
		require.Equal(t, before.Fingerprint, x.Fingerprint)
	}
	held, _ := stateAlertNamed(t, a, "E2EConnectorDown")
	require.Contains(t, held.Annotations["smm_held"], "storage full", "the API says the alert is held")
	require.Empty(t, hook.matching("E2EConnectorDown", "resolved"), "no resolved notification for the outage")

	require.NoError(t, os.Remove(filepath.Join(mnt, "ballast")))
	freedAt := time.Now()
	waitFor(t, 60*time.Second, "E2EConnectorDown fired again by its rule", func() bool {
		x, ok := stateAlertNamed(t, a, "E2EConnectorDown")
		return ok && x.Annotations["smm_held"] == ""
	})
	after, _ := stateAlertNamed(t, a, "E2EConnectorDown")
	require.Equal(t, before.Fingerprint, after.Fingerprint)
	require.True(t, before.StartsAt.Equal(after.StartsAt), "startsAt %s became %s", before.StartsAt, after.StartsAt)
	waitFor(t, 60*time.Second, "SMM_ApplianceStorageFull resolved and Watchdog back", func() bool {
		_, wd := stateAlertNamed(t, a, "Watchdog")
		return len(hook.matching("SMM_ApplianceStorageFull", "resolved")) > 0 && wd
	})
	require.Empty(t, hook.matching("E2EConnectorDown", "resolved"), "no resolved notification for the outage")
	require.True(t, ackedFingerprints(t, a)[before.Fingerprint], "the ack carries on")
	t.Logf("sudden fill: SMM_ApplianceStorageFull delivered %s after the fill, Watchdog stopped after %s; E2EConnectorDown held 45 s with the same fingerprint, startsAt unchanged; live again %s after freeing",
		paged.Round(100*time.Millisecond), watchdogStopped.Round(100*time.Millisecond), time.Since(freedAt).Round(100*time.Millisecond))
}

// TestReliabilityBoundedState: an ack of 100 alerts (and 5,000 copies of one
// fingerprint) with a 100 KB comment is one write with the comment stored
// once (it was 16 s and a 10 MB file); an alert POST over the alert store's
// byte bound is refused with 507 and counted.
func TestReliabilityBoundedState(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg, data := copyConfig(t, "reliability/state"), t.TempDir()
	a := startAppliance(t, cfg, data, stateEnv(exp, hook))
	var alerts []map[string]any
	for i := range 100 {
		alerts = append(alerts, map[string]any{"labels": map[string]string{"alertname": "E2EMany", "n": strconv.Itoa(i), "severity": "warning"}})
	}
	code, body := postJSON(t, a.am+"/api/v2/alerts", alerts)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var fps []string
	waitFor(t, 10*time.Second, "100 alerts stored", func() bool {
		var list []stateAlert
		_, b := httpGet(a.am + "/api/v2/alerts?filter=alertname%3D%22E2EMany%22")
		_ = json.Unmarshal(b, &list)
		fps = fps[:0]
		for _, x := range list {
			fps = append(fps, x.Fingerprint)
		}
		return len(fps) == 100
	})
	all := slices.Clone(fps)
	for range 5000 {
		all = append(all, fps[0])
	}
	comment := strings.Repeat("c", 100<<10)
	start := time.Now()
	code, body = postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": all, "by": "e2e", "comment": comment})
	took := time.Since(start)
	require.Equal(t, http.StatusOK, code, "%.200s", body)
	fi, err := os.Stat(filepath.Join(data, "acks", "acks.json"))
	require.NoError(t, err)
	require.Less(t, fi.Size(), int64(2*len(comment)), "the comment is stored once")
	require.Len(t, ackedFingerprints(t, a), 100)

	// Over the 32 MiB bound in 12 MiB POSTs (the API takes at most 16 MiB
	// per request): two are stored, the third is refused whole.
	big := strings.Repeat("x", 8<<10)
	post := func(name string) (int, []byte) {
		var flood []map[string]any
		for i := range 1536 {
			flood = append(flood, map[string]any{"labels": map[string]string{"alertname": name, "n": strconv.Itoa(i)}, "annotations": map[string]string{"big": big}})
		}
		return postJSON(t, a.am+"/api/v2/alerts", flood)
	}
	for _, name := range []string{"E2EFlood1", "E2EFlood2"} {
		code, body = post(name)
		require.Equal(t, http.StatusOK, code, "%.200s", body)
	}
	code, body = post("E2EFlood3")
	require.Equal(t, http.StatusInsufficientStorage, code, "%.200s", body)
	require.Greater(t, metricValue(t, a, "smm_appliance_alerts_refused_total"), 0.0)
	_, found := stateAlertNamed(t, a, "E2EFlood3")
	require.False(t, found, "a refused POST stores nothing")
	stored := metricValue(t, a, "smm_appliance_alert_store_bytes")
	require.LessOrEqual(t, stored, float64(32<<20))
	t.Logf("ack of 100 alerts + 5,000 copies with a 100 KB comment: %s, acks.json %d bytes; third 12 MiB alert POST with %.0f bytes stored: %d %s", took.Round(time.Millisecond), fi.Size(), stored, code, strings.TrimSpace(string(body)))
}
