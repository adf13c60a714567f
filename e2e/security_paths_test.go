package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// securedAppliance is an appliance with TLS on and one user per role
// (viewer1, operator1, admin1), as an attacker with a viewer account meets it.
type securedAppliance struct {
	*appliance
	cl        secureClient
	pool      *x509.CertPool
	cfg       string
	passwords map[string]string
}

func startSecured(t *testing.T, args ...string) *securedAppliance {
	t.Helper()
	exp, hook := newExporter(t), newWebhook(t)
	passwords := map[string]string{"viewer1": "viewer-pass-1", "operator1": "operator-pass-1", "admin1": "admin-pass-1"}
	cfg, webCfg, pool := securedConfig(t, passwords)
	cl := secureClient{c: &http.Client{
		Timeout: 10 * time.Second,
		// Redirects are answers too: a 301 to the clean path is fine, a
		// followed one would hide what the first request got.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
	}}
	ready := func(a *appliance) bool {
		code, _, err := cl.try("GET", a.web+"/-/ready", "admin1", passwords["admin1"], nil, nil)
		return err == nil && code == http.StatusOK
	}
	a := startApplianceReady(t, cfg, t.TempDir(), basicEnv(exp, hook), ready, append([]string{"--web.config.file=" + webCfg}, args...)...)
	return &securedAppliance{appliance: a, cl: cl, pool: pool, cfg: cfg, passwords: passwords}
}

// try is secureClient.do that returns transport errors (a handler panic
// resets the connection) instead of failing.
func (s secureClient) try(method, url, user, pass string, body []byte, hdr map[string]string) (int, string, error) {
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rdr)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func (s *securedAppliance) as(t *testing.T, role, method, url string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	user := role + "1"
	if role == "none" {
		user = ""
	}
	code, b, err := s.cl.try(method, url, user, s.passwords[user], body, hdr)
	require.NoError(t, err, "%s %s as %s", method, url, role)
	return code, b
}

// pathVariants are spellings of p that a router cleans to p: trailing
// slash, dot segments, doubled slashes, percent-encoding, case.
func pathVariants(p string) []string {
	i := strings.LastIndex(p, "/")
	dir, last := p[:i], p[i+1:]
	return []string{
		p,
		p + "/",
		dir + "/./" + last,
		dir + "//" + last,
		dir + "/x/../" + last,
		dir + "/%2e/" + last,
		dir + "/x/%2e%2e/" + last,
		dir + "/" + fmt.Sprintf("%%%02x", last[0]) + last[1:],
		p + "%2F",
		strings.ToUpper(p),
		dir + "/" + strings.ToUpper(last[:1]) + last[1:],
	}
}

// TestSecurityPathsNormalized: the role a request needs is decided on the
// path the router serves, on both listeners and under /alertmanager/, for
// every spelling of an admin-only path; the Alertmanager's Connect, gRPC-Web,
// gRPC health and reflection routes are not served to anyone; unknown paths
// under the API prefixes are denied; a method in lower case gets the same
// checks (role and alert limits) as in upper case.
func TestSecurityPathsNormalized(t *testing.T) {
	s := startSecured(t)
	w, am := s.web, s.am

	adminOnly := []struct{ base, path, query string }{
		{w, "/api/v1/status/config", ""},
		{w, "/api/v1/status/flags", ""},
		{w, "/api/v1/scrape_pools/config", "?scrapePool=protected"},
		{w, "/api/v1/targets/relabel_steps", "?scrapePool=protected&labels=%7B%22__address__%22%3A%22127.0.0.1%3A1%22%7D"},
		{w, "/api/v1/appliance/audit", ""},
		{w, "/alertmanager/api/v2/status", ""},
		{w, "/alertmanager/api/v1/status", ""},
		{am, "/api/v2/status", ""},
		{am, "/api/v1/status", ""},
		// Go's profiles (web/pprof.go): the command line and the heap.
		{w, "/debug/pprof/cmdline", ""},
		{am, "/debug/pprof/heap", "?debug=1"},
	}
	// Every check runs (on a broken build all the holes are listed, not
	// only the first); the test fails if any did.
	seen, bad := 0, 0
	check := func(ok bool, format string, args ...any) {
		t.Helper()
		seen++
		if !ok {
			if bad++; bad <= 40 {
				t.Errorf(format, args...)
			}
		}
	}
	for _, ep := range adminOnly {
		// The plain path works for an admin, so the variants are real.
		// (Scrape pools appear once the scrape manager has the config.)
		var code int
		var body string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if code, body = s.as(t, "admin", "GET", ep.base+ep.path+ep.query, nil, nil); code == http.StatusOK || time.Now().After(deadline) {
				break
			}
		}
		require.Equal(t, http.StatusOK, code, "%s as admin: %s", ep.path, body)
		for _, p := range pathVariants(ep.path) {
			u := ep.base + p + ep.query
			for role, want := range map[string]int{"none": 401, "viewer": 403, "operator": 403} {
				code, body := s.as(t, role, "GET", u, nil, nil)
				check(code == want, "GET %s as %s: %d, want %d: %.200s", u, role, code, want, body)
			}
		}
	}

	// Alertmanager 0.35's experimental ConnectRPC surface: not served.
	// Viewers and operators are denied (unknown path under /api/), admins
	// get 404, nobody gets the configuration.
	frame := []byte{0, 0, 0, 0, 0} // an empty gRPC message
	connect := []struct {
		method, path string
		body         []byte
		hdr          map[string]string
	}{
		{"GET", "/api/status.v3alpha.StatusService/GetStatus?encoding=json&message=%7B%7D", nil, nil},
		{"POST", "/api/status.v3alpha.StatusService/GetStatus", []byte(`{}`), map[string]string{"Content-Type": "application/json"}},
		{"POST", "/api/status.v3alpha.StatusService/GetStatus", frame, map[string]string{"Content-Type": "application/grpc-web+proto"}},
		{"POST", "/api/grpc.health.v1.Health/Check", []byte(`{}`), map[string]string{"Content-Type": "application/json"}},
		{"GET", "/api/grpc.health.v1.Health/Check?encoding=json&message=%7B%7D", nil, nil},
		{"POST", "/api/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", frame, map[string]string{"Content-Type": "application/connect+proto"}},
		{"POST", "/api/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", frame, map[string]string{"Content-Type": "application/grpc-web+proto"}},
		{"POST", "/status.v3alpha.StatusService/GetStatus", frame, map[string]string{"Content-Type": "application/grpc", "TE": "trailers"}},
		{"POST", "/grpc.health.v1.Health/Check", frame, map[string]string{"Content-Type": "application/grpc", "TE": "trailers"}},
		{"GET", "/api/v3/anything", nil, nil},
		{"GET", "/api/v2/not-a-route", nil, nil},
	}
	for _, base := range []string{am, w + "/alertmanager", w} {
		for _, c := range connect {
			for _, role := range []string{"none", "viewer", "operator", "admin"} {
				code, body := s.as(t, role, c.method, base+c.path, c.body, c.hdr)
				if role == "admin" {
					// 405: the console's answer to a POST on the web listener.
					check(code == 404 || code == 405, "%s %s%s as admin: %d, want 404: %.200s", c.method, base, c.path, code, body)
				} else {
					want := map[string]int{"none": 401, "viewer": 403, "operator": 403}[role]
					check(code == want, "%s %s%s as %s: %d, want %d: %.200s", c.method, base, c.path, role, code, want, body)
				}
				check(!strings.Contains(body, "receivers") && !strings.Contains(body, "slack-secret"), "%s %s%s as %s: configuration in the answer", c.method, base, c.path, role)
			}
		}
	}

	// The method in lower case: same role, same alert limits.
	labels := map[string]string{"alertname": "E2ELowerCase"}
	for i := range 200 {
		labels[fmt.Sprintf("l%03d", i)] = "v"
	}
	tooMany, _ := json.Marshal([]map[string]any{{"labels": labels}})
	for _, u := range []string{am + "/api/v2/alerts", am + "/api/v2/alerts/", w + "/alertmanager/api/v2/alerts", am + "/API/V2/ALERTS"} {
		for _, m := range []string{"POST", "post", "Post"} {
			code, body := s.as(t, "operator", m, u, tooMany, nil)
			check(code == http.StatusBadRequest && strings.Contains(body, "labels"), "%s %s with 200 labels: %d, want 400: %.200s", m, u, code, body)
			code, body = s.as(t, "viewer", m, u, []byte(`[]`), nil)
			check(code == http.StatusForbidden, "%s %s as viewer: %d, want 403: %.200s", m, u, code, body)
		}
	}
	for _, m := range []string{"post", "put"} {
		code, body := s.as(t, "operator", m, w+"/-/reload", nil, nil)
		check(code == http.StatusForbidden, "%s /-/reload as operator: %d, want 403: %s", m, code, body)
	}
	t.Logf("%d role × path × listener checks, %d failed", seen, bad)
}

// TestSecurityAlertIngestNotRateLimited: alerts POSTed by an authorized
// sender are never refused for rate — 1,000 POSTs in a tight loop from one
// client, on both listeners and with amtool — while writes by people
// (silences) keep their per-client limit.
func TestSecurityAlertIngestNotRateLimited(t *testing.T) {
	s := startSecured(t)
	now := time.Now().UTC()
	codes := map[int]int{}
	start := time.Now()
	urls := []string{s.am + "/api/v2/alerts", s.web + "/alertmanager/api/v2/alerts"}
	const n = 1000
	for i := range n {
		body, _ := json.Marshal([]map[string]any{{
			"labels":   map[string]string{"alertname": "E2EIngestLoop", "i": fmt.Sprint(i)},
			"startsAt": now.Format(time.RFC3339),
		}})
		code, b := s.as(t, "operator", "POST", urls[i%len(urls)], body, nil)
		codes[code]++
		if code != http.StatusOK && codes[code] <= 3 {
			t.Logf("POST %d: %d %.200s", i, code, b)
		}
	}
	elapsed := time.Since(start)
	require.Equal(t, map[int]int{200: n}, codes, "every alert POST accepted")

	// amtool, as the seed's own load test ran it.
	amtoolRuns := 0
	if amtool := os.Getenv("AMTOOL"); amtool != "" {
		httpCfg := filepath.Join(s.cfg, "amtool-http.yml")
		require.NoError(t, os.WriteFile(httpCfg, []byte(fmt.Sprintf("basic_auth:\n  username: operator1\n  password: %s\ntls_config:\n  ca_file: %s\n",
			s.passwords["operator1"], filepath.Join(s.cfg, "tls.crt"))), 0o600))
		for i := range 100 {
			out, err := exec.Command(amtool, "--alertmanager.url="+s.am, "--http.config.file="+httpCfg,
				"alert", "add", "alertname=E2EAmtoolLoop", fmt.Sprintf("i=%d", i)).CombinedOutput()
			require.NoError(t, err, "amtool alert add #%d: %s", i, out)
			amtoolRuns++
		}
	}
	var alerts []json.RawMessage
	code, body := s.as(t, "viewer", "GET", s.am+"/api/v2/alerts?filter=alertname=~%22E2E(IngestLoop|AmtoolLoop)%22", nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &alerts))
	require.Len(t, alerts, n+amtoolRuns, "every posted alert is in the Alertmanager")

	// People's writes keep the limit (20/s, burst 40).
	silence, _ := json.Marshal(map[string]any{
		"matchers": []map[string]any{{"name": "alertname", "value": "Nope", "isRegex": false, "isEqual": true}},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "e2e", "comment": "rate",
	})
	limited := 0
	for range 100 {
		if code, _ := s.as(t, "operator", "POST", s.am+"/api/v2/silences", silence, nil); code == http.StatusTooManyRequests {
			limited++
		}
	}
	require.Positive(t, limited, "silence writes are still rate limited")
	t.Logf("%d alert POSTs in %s (%.0f/s), all 200; %d amtool alert add, all accepted; %d of 100 rapid silence POSTs refused with 429",
		n, elapsed.Round(time.Millisecond), n/elapsed.Seconds(), amtoolRuns, limited)
}

// TestSecuritySmallerDefects: the notifications endpoints answer 404 instead
// of panicking, /api/v1/features answers, an oversized ack is 413, lone
// UTF-16 surrogates in JSON are refused like invalid UTF-8, and remote-write
// series with invalid UTF-8 or duplicate labels move a counter.
func TestSecuritySmallerDefects(t *testing.T) {
	s := startSecured(t, "--web.enable-remote-write-receiver")

	t.Run("notifications", func(t *testing.T) {
		for _, p := range []string{"/api/v1/notifications", "/api/v1/notifications/live"} {
			code, body, err := s.cl.try("GET", s.web+p, "viewer1", s.passwords["viewer1"], nil, nil)
			require.NoError(t, err, "GET %s", p)
			require.Equal(t, http.StatusNotFound, code, "GET %s: %s", p, body)
		}
		require.NotContains(t, s.logs.String(), "panic", "no handler panicked")
	})
	t.Run("features", func(t *testing.T) {
		code, body := s.as(t, "viewer", "GET", s.web+"/api/v1/features", nil, nil)
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, `"status":"success"`)
	})
	t.Run("oversized ack", func(t *testing.T) {

		big := []byte(`{"fingerprints":["0123456789abcdef"],"comment":"` + strings.Repeat("x", 2<<20) + `"}`)
		code, body := s.as(t, "operator", "POST", s.web+"/api/v1/appliance/acks", big, nil)
		require.Equal(t, http.StatusRequestEntityTooLarge, code, "%.300s", body)
	})

	now := time.Now().UTC()
	t.Run("lone surrogates", func(t *testing.T) {
		for _, c := range []struct{ name, url, body string }{
			{"alert label", s.am + "/api/v2/alerts", `[{"labels":{"alertname":"E2ESurrogate\ud800"}}]`},
			{"alert annotation", s.am + "/api/v2/alerts", `[{"labels":{"alertname":"E2ESurrogate"},"annotations":{"x":"\udc00\ud800"}}]`},
			{"silence comment", s.am + "/api/v2/silences", `{"matchers":[{"name":"alertname","value":"A","isRegex":false}],"startsAt":"` + now.Format(time.RFC3339) +
				`","endsAt":"` + now.Add(time.Hour).Format(time.RFC3339) + `","createdBy":"e2e","comment":"\ud800x"}`},
			{"ack comment", s.web + "/api/v1/appliance/acks", `{"fingerprints":["0123456789abcdef"],"comment":"\ud800"}`},
		} {
			code, body := s.as(t, "admin", "POST", c.url, []byte(c.body), nil)
			require.Equal(t, http.StatusBadRequest, code, "%s: %.300s", c.name, body)
			require.Contains(t, body, "UTF-8", c.name)
		}
		// A valid pair and an escaped backslash pass.
		code, body := s.as(t, "admin", "POST", s.am+"/api/v2/alerts", []byte(`[{"labels":{"alertname":"E2ESurrogatePair\ud83d\ude00","x":"\\ud800"}}]`), nil)
		require.Equal(t, http.StatusOK, code, body)
	})

	t.Run("remote write invalid labels", func(t *testing.T) {
		// Remote write: a valid series, one with invalid UTF-8, one with a
		// duplicate label. The valid one is stored, the others counted.
		const counter = "prometheus_api_remote_write_invalid_labels_samples_total"
		before := securedMetric(t, s, counter)
		ts := now.UnixMilli()
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			{Labels: []prompb.Label{{Name: "__name__", Value: "e2e_rw_ok"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: ts}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "e2e_rw_bad_utf8"}, {Name: "x", Value: "\xff\xfe"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: ts}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "e2e_rw_dup"}, {Name: "x", Value: "a"}, {Name: "x", Value: "b"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: ts}}},
		}}
		pb, err := req.Marshal()
		require.NoError(t, err)
		code, body := s.as(t, "operator", "POST", s.web+"/api/v1/write", snappy.Encode(nil, pb), remoteWriteHeaders)
		require.Equal(t, http.StatusNoContent, code, body)
		after := securedMetric(t, s, counter)
		require.Equal(t, 2.0, after-before, "%s counts the two refused series", counter)
	})
}

// securedMetric sums a metric's samples on the appliance's /metrics.
func securedMetric(t *testing.T, s *securedAppliance, name string) float64 {
	t.Helper()
	code, body := s.as(t, "viewer", "GET", s.web+"/metrics", nil, nil)
	require.Equal(t, http.StatusOK, code)
	sum, found := 0.0, false
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			var v float64
			_, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			require.NoError(t, err, line)
			sum, found = sum+v, true
		}
	}
	require.True(t, found, "%s not exported", name)
	return sum
}
