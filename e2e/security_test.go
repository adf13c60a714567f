package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// securedConfig copies the basic configuration and secures it: a
// self-signed certificate and TLS, a user per entry of passwords in web.yml,
// each mapped in appliance.yml to the role its name starts with (viewer1 is
// a viewer). It returns the directory, the web config and the pool that
// trusts the certificate.
func securedConfig(t *testing.T, passwords map[string]string) (cfg, webCfg string, pool *x509.CertPool) {
	t.Helper()
	cfg = copyConfig(t, "basic")
	pool = writeSelfSigned(t, cfg)
	var users, roles strings.Builder
	for _, u := range slices.Sorted(maps.Keys(passwords)) {
		h, err := bcrypt.GenerateFromPassword([]byte(passwords[u]), bcrypt.MinCost)
		require.NoError(t, err)
		fmt.Fprintf(&users, "  %s: %s\n", u, h)
		fmt.Fprintf(&roles, "    %s: %s\n", u, strings.TrimRight(u, "0123456789"))
	}
	webCfg = filepath.Join(cfg, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n"+users.String()), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "appliance.yml"), []byte("auth:\n  users:\n"+roles.String()), 0o644))
	return cfg, webCfg, pool
}

// writeSelfSigned writes a certificate for 127.0.0.1 and returns the pool
// that trusts it.
func writeSelfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smm-appliance-e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

type secureClient struct {
	c *http.Client
}

func (s secureClient) do(t *testing.T, method, url, user, pass string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rdr)
	require.NoError(t, err)
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
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSecurityRolesOverTLS: every write endpoint of every API, and the admin
// reads, against the real listeners with TLS on, for each role; the audit
// log names the authenticated user; cross-site writes and hostile inputs
// are refused and the appliance keeps serving.
func TestSecurityRolesOverTLS(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	passwords := map[string]string{"viewer1": "viewer-pass-1", "operator1": "operator-pass-1", "admin1": "admin-pass-1"}
	cfg, webCfg, pool := securedConfig(t, passwords)

	cl := secureClient{c: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	ready := func(a *appliance) bool {
		req, _ := http.NewRequest("GET", a.web+"/-/ready", nil)
		req.SetBasicAuth("admin1", passwords["admin1"])
		resp, err := cl.c.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	a := startApplianceReady(t, cfg, t.TempDir(), basicEnv(exp, hook), ready, "--web.config.file="+webCfg)

	// TLS is really on: plain HTTP gets no API answer.
	plain := strings.Replace(a.web, "https://", "http://", 1)
	if code, _ := httpGet(plain + "/-/ready"); code == http.StatusOK {
		t.Fatal("plain HTTP served with TLS configured")
	}

	now := time.Now().UTC()
	silence, _ := json.Marshal(map[string]any{
		"matchers": []map[string]any{{"name": "alertname", "value": "Nope", "isRegex": false, "isEqual": true}},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "e2e", "comment": "roles",
	})
	ackBody := []byte(`{"fingerprints":["0123456789abcdef"],"comment":"x"}`)
	type endpoint struct {
		method, url string
		body        []byte
		need        string // lowest role allowed
		allowed     int    // status when allowed
	}
	eps := []endpoint{
		{"POST", a.web + "/-/reload", nil, "admin", 200},
		{"POST", a.am + "/-/reload", nil, "admin", 200},
		{"POST", a.web + "/api/v1/admin/tsdb/snapshot", nil, "admin", 200},
		{"POST", a.web + "/api/v1/admin/tsdb/clean_tombstones", nil, "admin", 204},
		{"GET", a.web + "/api/v1/status/config", nil, "admin", 200},
		{"GET", a.am + "/api/v2/status", nil, "admin", 200},
		{"GET", a.am + "/api/v1/status", nil, "admin", 200},
		{"GET", a.web + "/api/v1/appliance/audit", nil, "admin", 200},
		{"POST", a.am + "/api/v2/silences", silence, "operator", 200},
		{"POST", a.web + "/alertmanager/api/v2/silences", silence, "operator", 200},
		{"DELETE", a.am + "/api/v2/silence/00000000-0000-0000-0000-000000000000", nil, "operator", 404},
		{"POST", a.am + "/api/v2/alerts", []byte(`[]`), "operator", 200},
		{"POST", a.web + "/alertmanager/api/v2/alerts", []byte(`[]`), "operator", 200},
		{"POST", a.web + "/api/v1/appliance/acks", ackBody, "operator", 404},
		{"DELETE", a.web + "/api/v1/appliance/acks/0123456789abcdef", nil, "operator", 404},
		{"GET", a.web + "/api/v1/query?query=up", nil, "viewer", 200},
		{"POST", a.web + "/api/v1/query?query=up", nil, "viewer", 200},
		{"GET", a.am + "/api/v2/alerts", nil, "viewer", 200},
		{"GET", a.am + "/api/v1/alerts", nil, "viewer", 200},
		{"GET", a.web + "/api/v1/appliance/alerts", nil, "viewer", 200},
		// Health checks answer probes without a password, on both
		// listeners; everything else above still wants one.
		{"GET", a.web + "/-/healthy", nil, "none", 200},
		{"GET", a.web + "/-/ready", nil, "none", 200},
		{"GET", a.am + "/-/healthy", nil, "none", 200},
		{"GET", a.am + "/-/ready", nil, "none", 200},
		{"HEAD", a.web + "/-/healthy", nil, "none", 200},
	}
	rank := map[string]int{"none": 0, "viewer": 1, "operator": 2, "admin": 3}
	for _, role := range []string{"none", "viewer", "operator", "admin"} {
		user := role + "1"
		if role == "none" {
			user = ""
		}
		for _, ep := range eps {
			want := ep.allowed
			switch {
			case rank[role] >= rank[ep.need]:
			case role == "none":
				want = http.StatusUnauthorized
			default:
				want = http.StatusForbidden
			}
			code, body := cl.do(t, ep.method, ep.url, user, passwords[user], ep.body, nil)
			require.Equal(t, want, code, "%s %s as %s: %s", ep.method, ep.url, role, body)
		}
	}

	// Who am I, as the UI asks.
	_, body := cl.do(t, "GET", a.web+"/api/v1/appliance/whoami", "operator1", passwords["operator1"], nil, nil)
	require.JSONEq(t, `{"status":"success","data":{"user":"operator1","role":"operator","authEnabled":true}}`, body)

	// A wrong password is refused and audited.
	code, _ := cl.do(t, "GET", a.web+"/api/v1/query?query=up", "admin1", "wrong", nil, nil)
	require.Equal(t, http.StatusUnauthorized, code)

	// Cross-site writes are refused even for admins (CSRF).
	code, _ = cl.do(t, "POST", a.am+"/api/v2/silences", "admin1", passwords["admin1"], silence, map[string]string{"Origin": "https://evil.example"})
	require.Equal(t, http.StatusForbidden, code)
	code, _ = cl.do(t, "POST", a.am+"/api/v2/silences", "admin1", passwords["admin1"], silence, map[string]string{"Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusForbidden, code)

	// The audit log has each kind of event with the authenticated user.
	var audit struct {
		Data []struct {
			Event, User, Path, Result string
			Status                    int
			Files                     map[string]string
		} `json:"data"`
	}
	_, body = cl.do(t, "GET", a.web+"/api/v1/appliance/audit?limit=1000", "admin1", passwords["admin1"], nil, nil)
	require.NoError(t, json.Unmarshal([]byte(body), &audit))
	seen := map[string]map[string]bool{}
	for _, e := range audit.Data {
		if seen[e.Event] == nil {
			seen[e.Event] = map[string]bool{}
		}
		seen[e.Event][e.User] = true
		if e.Event == "config_reload" && e.User == "admin1" {
			require.Equal(t, "success", e.Result)
			require.Contains(t, e.Files, filepath.Join(cfg, "prometheus.yml"), "reload lists the files with their hashes")
		}
	}
	for ev, user := range map[string]string{
		"config_reload": "admin1", "silence_create_or_update": "operator1", "silence_expire": "operator1",
		"ack": "operator1", "unack": "operator1", "tsdb_admin": "admin1",
		"admin_call": "admin1", "login_failed": "admin1", "denied": "viewer1",
	} {
		require.True(t, seen[ev][user], "audit event %s by %s missing; have %v", ev, user, seen[ev])
	}
	require.True(t, seen["config_reload"]["start"], "start-up load is audited")

	// Hostile inputs get a 4xx and the appliance keeps serving.
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	hugeLabels := map[string]string{}
	for i := range 20000 {
		hugeLabels[fmt.Sprintf("label_%05d", i)] = strings.Repeat("v", 50)
	}
	huge, _ := json.Marshal([]map[string]any{{"labels": hugeLabels}})
	bomb, _ := json.Marshal(map[string]any{
		"matchers": []map[string]any{{"name": "alertname", "value": "(a+)+$" + strings.Repeat("(x*)*", 2000), "isRegex": true, "isEqual": true}},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339), "createdBy": "e2e", "comment": "bomb",
	})
	hostile := []struct {
		name, url string
		body      []byte
	}{
		{"deep JSON", a.am + "/api/v2/alerts", []byte(deep)},
		{"invalid UTF-8 label", a.am + "/api/v2/alerts", []byte("[{\"labels\":{\"alertname\":\"\xff\xfe\"}}]")},
		{"huge label set", a.am + "/api/v2/alerts", huge},
		{"over the body limit", a.am + "/api/v2/alerts", bytes.Repeat([]byte(" "), 17<<20)},
		{"regex bomb in a silence", a.am + "/api/v2/silences", bomb},
		{"unknown field in an ack", a.web + "/api/v1/appliance/acks", []byte(`{"fingerprints":[],"sudo":true}`)},
		{"truncated ack", a.web + "/api/v1/appliance/acks", []byte(`{"fingerprints":[`)},
	}
	for _, h := range hostile {
		code, body := cl.do(t, "POST", h.url, "admin1", passwords["admin1"], h.body, nil)
		require.True(t, code >= 400 && code < 500, "%s: got %d %s", h.name, code, body)
		require.True(t, ready(a), "%s: appliance stopped serving", h.name)
	}
}
