package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sloObjective is one objective of GET /api/v1/appliance/slo.
type sloObjective struct {
	Name   string   `json:"name"`
	Value  *float64 `json:"value"`
	Met    *bool    `json:"met"`
	Detail string   `json:"detail"`
}

type sloReport struct {
	Window     string         `json:"window"`
	Objectives []sloObjective `json:"objectives"`
	Delivery   []struct {
		Receiver      string `json:"receiver"`
		Integration   string `json:"integration"`
		Notifications int    `json:"notifications"`
		Delivered     int    `json:"delivered"`
	} `json:"delivery"`
	MTTA []struct {
		Severity string `json:"severity"`
		Acked    int    `json:"acked"`
	} `json:"mtta"`
}

func (r sloReport) objective(name string) sloObjective {
	for _, o := range r.Objectives {
		if o.Name == name {
			return o
		}
	}
	return sloObjective{}
}

// sloAppliance starts the appliance on the basic config with a mail relay
// (the SMTP sink) and a weekly review address, and fires one critical
// alert that started 12 s before it was posted, is delivered to the
// webhook, and is acknowledged.
func sloAppliance(t *testing.T) (*appliance, *smtpSink, string) {
	t.Helper()
	exp, hook := newExporter(t), newWebhook(t)
	smtpd := newSMTPSink(t)
	cfg := copyConfig(t, "basic")
	am, err := os.ReadFile(filepath.Join(cfg, "alertmanager.yml"))
	require.NoError(t, err)
	am = append([]byte(fmt.Sprintf("global:\n  smtp_smarthost: %q\n  smtp_from: appliance@smm.example\n", smtpd.addr)), am...)
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "alertmanager.yml"), am, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "appliance.yml"),
		[]byte("report:\n  email_to: \"SRE <sre@smm.example>\"\n  weekday: monday\n  time: \"09:00\"\n"), 0o644))
	env := basicEnv(exp, hook)
	env["SSL_CERT_FILE"] = smtpd.caFile
	a := startAppliance(t, cfg, t.TempDir(), env)
	// The histogram's zero is scraped first (as on any appliance but one
	// that notifies within its first scrape): increase() counts from it.
	waitFor(t, 20*time.Second, "self-scrape of the latency histogram", func() bool {
		return len(query(t, a, `smm_appliance_alert_processing_seconds_count{job="smm-appliance",severity="critical"} == 0`, time.Time{})) == 1
	})

	postAlerts(t, a, []amAlert{{
		Labels:   map[string]string{"alertname": "SLOE2E", "severity": "critical", "team": "platform"},
		StartsAt: time.Now().Add(-12 * time.Second),
		EndsAt:   time.Now().Add(time.Hour),
	}})
	fp := amAlertFP(t, a, "SLOE2E")
	waitFor(t, 20*time.Second, "SLOE2E notified", func() bool { return len(hook.matching("SLOE2E", "firing")) > 0 })
	code, body := postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprint": fp, "by": "oncall"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	return a, smtpd, fp
}

// TestSLOAPI: the four SLOs of the scripted alert on the real binary, the
// review as Markdown and CSV, and the review mailed through the relay.
func TestSLOAPI(t *testing.T) {
	a, smtpd, _ := sloAppliance(t)

	var rep sloReport
	waitFor(t, 20*time.Second, "processing latency in the SLO report (self-scrape)", func() bool {
		var resp struct{ Data sloReport }
		getJSON(t, a.web+"/api/v1/appliance/slo?window=live", &resp)
		rep = resp.Data
		return rep.objective("processing_latency").Value != nil && rep.objective("mtta_critical").Value != nil
	})
	require.Equal(t, "live", rep.Window)
	require.Len(t, rep.Objectives, 4)
	lat := rep.objective("processing_latency")
	// 12 s before the post, plus group_wait (1 s) and the send: within
	// the 10-15 s or 15-20 s bucket; p95 interpolates inside it.
	require.Greater(t, *lat.Value, 10.0, lat.Detail)
	require.Less(t, *lat.Value, 30.0, lat.Detail)
	require.True(t, *lat.Met)
	require.Contains(t, lat.Detail, "1 alerts")

	del := rep.objective("delivery")
	require.Equal(t, 1.0, *del.Value, del.Detail)
	require.Contains(t, rep.Delivery[0].Receiver+"/"+rep.Delivery[0].Integration, "webhook/webhook")

	mtta := rep.objective("mtta_critical")
	require.Equal(t, "1 of 1 critical alerts acknowledged", mtta.Detail)
	require.Less(t, *mtta.Value, 60.0)
	fp := rep.objective("false_positives")
	require.Equal(t, 0.0, *fp.Value, fp.Detail)
	require.Equal(t, "0 of 1 alerts acknowledged as false positives", fp.Detail)

	// Windows: 30d answers too, a bad one is refused.
	code, _ := httpGet(a.web + "/api/v1/appliance/slo?window=30d")
	require.Equal(t, http.StatusOK, code)
	code, body := httpGet(a.web + "/api/v1/appliance/slo?window=1y")
	require.Equal(t, http.StatusBadRequest, code, "%s", body)

	// The review, downloadable.
	resp, err := http.Get(a.web + "/api/v1/appliance/review?format=md&window=7d")
	require.NoError(t, err)
	md := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, md)
	require.Equal(t, "text/markdown; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), ".md")
	require.Contains(t, md, "# Alerting review")
	require.Contains(t, md, "| SLOE2E | critical | 1 | 1 |")

	resp, err = http.Get(a.web + "/api/v1/appliance/review?format=csv")
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(readAll(t, resp))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"section", "name", "detail", "count", "value"}, rows[0])
	require.Contains(t, rows, []string{"frequent", "SLOE2E", "critical", "1", "1"})
	code, _ = httpGet(a.web + "/api/v1/appliance/review?format=pdf")
	require.Equal(t, http.StatusBadRequest, code)

	// The weekly mail, sent now: to the configured address, over TLS.
	code, body = postJSON(t, a.web+"/api/v1/appliance/review/send", nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	msgs := smtpd.to("sre@smm.example", "SMM alerting review")
	require.Len(t, msgs, 1)
	require.True(t, msgs[0].TLS, "sent after STARTTLS")
	require.Equal(t, "appliance@smm.example", msgs[0].From)
	require.Contains(t, msgs[0].Text, "| SLOE2E | critical | 1 | 1 |")
	require.Contains(t, msgs[0].HTML, "<pre")
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestUISLO: the console's SLO page shows the four SLOs with figures.
func TestUISLO(t *testing.T) {
	a, _, _ := sloAppliance(t)
	waitFor(t, 20*time.Second, "processing latency in the SLO report", func() bool {
		var resp struct{ Data sloReport }
		getJSON(t, a.web+"/api/v1/appliance/slo?window=live", &resp)
		return resp.Data.objective("processing_latency").Value != nil
	})
	b := newUIBrowser(t, a.web)
	b.open(t, "#/slo")
	b.wait(t, 20*time.Second, "four SLO cards", `document.querySelectorAll('#slo-cards .slo-card').length === 4`)
	for _, name := range []string{"processing_latency", "delivery", "false_positives", "mtta_critical"} {
		fig := eval[string](t, b, fmt.Sprintf(`document.querySelector('#slo-%s .slo-figure').textContent`, name))
		require.NotEqual(t, "no data", fig, name)
		require.NotEmpty(t, fig, name)
	}
	require.Equal(t, "100.00 %", eval[string](t, b, `document.querySelector('#slo-delivery .slo-figure').textContent`))
	require.Equal(t, "true", eval[string](t, b, `document.querySelector('#slo-processing_latency').dataset.met`))
	require.Contains(t, eval[string](t, b, `document.getElementById('slo-delivery-table').textContent`), "webhook")
	require.Contains(t, eval[string](t, b, `document.getElementById('review-md').getAttribute('href')`), "review?format=md")

	// Another window, kept in the address.
	eval[bool](t, b, `(() => { const s = document.getElementById('slo-window'); s.value = '30d'; s.dispatchEvent(new Event('change')); return true; })()`)
	b.wait(t, 10*time.Second, "window in the URL", `location.hash.includes('window=30d')`)
	b.wait(t, 10*time.Second, "30-day report", `document.getElementById('slo-span').textContent.length > 0`)
	require.Empty(t, b.jsErrors())
	b.screenshot(t, "slo", true)
}
