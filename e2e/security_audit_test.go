package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// secureAppliance starts the basic configuration with TLS and the users
// admin1 (admin) and operator1 (operator); args are added to the command.
func secureAppliance(t *testing.T, args ...string) (*appliance, secureClient, map[string]string) {
	t.Helper()
	exp, hook := newExporter(t), newWebhook(t)
	passwords := map[string]string{"operator1": "operator-pass-1", "admin1": "admin-pass-1"}
	cfg, webCfg, pool := securedConfig(t, passwords)
	cl := secureClient{c: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	ready := func(a *appliance) bool {
		req, _ := http.NewRequest("GET", a.web+"/-/ready", nil)
		resp, err := cl.c.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	a := startApplianceReady(t, cfg, t.TempDir(), basicEnv(exp, hook), ready, append([]string{"--web.config.file=" + webCfg}, args...)...)
	return a, cl, passwords
}

type auditLine struct {
	Time                                    time.Time
	Event, User, Remote, Path, Peer, Result string
	Count                                   int
}

func readAudit(t *testing.T, a *appliance, cl secureClient, adminPass string) []auditLine {
	t.Helper()
	var resp struct {
		Data []auditLine `json:"data"`
	}
	code, body := cl.do(t, "GET", a.web+"/api/v1/appliance/audit?limit=10000", "admin1", adminPass, nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	return resp.Data
}

// TestSecurityAuditFlood: an anonymous caller with huge user names and wrong
// passwords can neither rotate earlier events out of the audit log nor hide
// later ones from the reader; machine traffic (alert posts) becomes a
// metric, not audit lines.
func TestSecurityAuditFlood(t *testing.T) {
	a, cl, pw := secureAppliance(t)
	now := time.Now().UTC()
	silence := func(comment string) []byte {
		b, _ := json.Marshal(map[string]any{
			"matchers": []map[string]any{{"name": "alertname", "value": "Nope", "isRegex": false, "isEqual": true}},
			"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
			"createdBy": "e2e", "comment": comment,
		})
		return b
	}
	code, body := cl.do(t, "POST", a.am+"/api/v2/silences", "operator1", pw["operator1"], silence("before"), nil)
	require.Equal(t, http.StatusOK, code, body)

	// '<' is escaped to six bytes in JSON: one name makes a 1.2 MB line.
	huge := strings.Repeat("<", 200000)
	for i := range 60 {
		code, _ := cl.do(t, "GET", a.web+"/api/v1/query?query=up", huge+fmt.Sprint(i), "wrong", nil, nil)
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, body = cl.do(t, "POST", a.am+"/api/v2/silences", "operator1", pw["operator1"], silence("after"), nil)
	require.Equal(t, http.StatusOK, code, body)

	// Alerts posted by a sender: counted, not audited.
	for range 30 { // below the write burst of 40: the rate limit is not this test's subject
		code, body := cl.do(t, "POST", a.am+"/api/v2/alerts", "operator1", pw["operator1"], []byte(`[{"labels":{"alertname":"AuditFlood"}}]`), nil)
		require.Equal(t, http.StatusOK, code, body)
	}

	lines := readAudit(t, a, cl, pw["admin1"])
	silences, failed, alertPosts := 0, 0, 0
	for _, l := range lines {
		switch l.Event {
		case "silence_create_or_update":
			silences++
		case "login_failed":
			failed++
			require.LessOrEqual(t, len(l.User), 1024, "user names are cut")
		case "alerts_post":
			alertPosts++
		}
	}
	require.Equal(t, 2, silences, "the silences before and after the flood are both in the audit log")
	require.LessOrEqual(t, failed, 2, "60 failed logins of one client are aggregated")
	require.Zero(t, alertPosts, "alert posts are machine traffic, not audit lines")
	require.True(t, hasStartReload(lines), "the start-up reload, written before the flood, is still there")

	var size int64
	files, _ := filepath.Glob(filepath.Join(a.dataDir, "audit", "audit.log*"))
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		size += fi.Size()
	}
	require.Less(t, size, int64(1<<20), "the flood took %d bytes of audit log", size)

	code, body = cl.do(t, "GET", a.web+"/metrics", "admin1", pw["admin1"], nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.True(t, metricAtLeast(body, `smm_appliance_machine_writes_total{code="200",kind="alerts"}`, 30), "alert posts are counted")
	require.True(t, metricAtLeast(body, `smm_appliance_auth_failures_total{kind="login_failed"}`, 60), "failed logins are counted")
}

func hasStartReload(lines []auditLine) bool {
	for _, l := range lines {
		if l.Event == "config_reload" && l.User == "start" {
			return true
		}
	}
	return false
}

// metricAtLeast reports whether the exposition has series (name and labels
// exactly as exposed) with a value of at least min.
func metricAtLeast(exposition, series string, min float64) bool {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil && f >= min {
				return true
			}
		}
	}
	return false
}
