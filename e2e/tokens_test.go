package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cliToken runs `smm-appliance token create` on a data directory and
// returns the token it printed.
func cliToken(t *testing.T, dataDir, name, role string, extra ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"token", "create", "--storage.path", dataDir, "--name", name, "--role", role}, extra...)...).Output()
	require.NoError(t, err, "token create %s", name)
	tok := strings.TrimSpace(string(out))
	require.True(t, strings.HasPrefix(tok, "smmat_"), tok)
	return tok
}

// bearer sends a request with an API token.
func (s *securedAppliance) bearer(t *testing.T, tok, method, url string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + tok}
	for k, v := range hdr {
		h[k] = v
	}
	code, b, err := s.cl.try(method, url, "", "", body, h)
	require.NoError(t, err)
	return code, b
}

// TestTokensBearer: tokens made by the CLI while the appliance runs are
// accepted as Authorization: Bearer on both listeners, with their role;
// amtool and promtool use them through --http.config.file; a viewer's
// token cannot deploy; a token revoked by the CLI or in the console is
// refused at once; the audit log names the token; the token file holds no
// secret.
func TestTokensBearer(t *testing.T) {
	s := startSecured(t)
	viewer := cliToken(t, s.dataDir, "dash", "viewer")
	op := cliToken(t, s.dataDir, "ci", "operator", "--scope", "config", "--expires", "720h")

	raw, err := os.ReadFile(filepath.Join(s.dataDir, "tokens.json"))
	require.NoError(t, err)
	require.NotContains(t, string(raw), viewer)
	require.NotContains(t, string(raw), op)

	for _, base := range []string{s.web + "/alertmanager", s.am} {
		code, body := s.bearer(t, viewer, "GET", base+"/api/v2/status", nil, nil)
		require.Equal(t, http.StatusForbidden, code, "viewer on %s: %s", base, body)
		code, body = s.bearer(t, viewer, "GET", base+"/api/v2/alerts", nil, nil)
		require.Equal(t, http.StatusOK, code, "viewer reads on %s: %s", base, body)
	}
	code, body := s.bearer(t, viewer, "GET", s.web+"/api/v1/appliance/whoami", nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"user":"token:dash"`)
	code, body = s.bearer(t, viewer, "POST", s.web+"/api/v1/appliance/config?dry_run=true", bundleOf(t, s.cfg, nil), map[string]string{"Content-Type": "application/x-tar"})
	require.Equal(t, http.StatusForbidden, code, "a viewer's token cannot deploy: %s", body)
	code, _ = s.bearer(t, "smmat_not-a-token", "GET", s.web+"/api/v1/query?query=up", nil, nil)
	require.Equal(t, http.StatusUnauthorized, code)

	// amtool and promtool with a bearer token in --http.config.file.
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "op.token")
	require.NoError(t, os.WriteFile(tokFile, []byte(op+"\n"), 0o600))
	httpCfg := filepath.Join(dir, "http.yml")
	require.NoError(t, os.WriteFile(httpCfg, []byte(fmt.Sprintf("authorization:\n  type: Bearer\n  credentials_file: %s\ntls_config:\n  ca_file: %s\n", tokFile, filepath.Join(s.cfg, "tls.crt"))), 0o600))
	amtool := tool(t, "AMTOOL", "amtool")
	out, err := exec.Command(amtool, "--alertmanager.url="+s.am, "--http.config.file="+httpCfg, "silence", "add", "alertname=E2ETokenSilence", "--comment=by token", "--duration=1h").CombinedOutput()
	require.NoError(t, err, "amtool silence add with a bearer token: %s", out)
	out, err = exec.Command(amtool, "--alertmanager.url="+s.am, "--http.config.file="+httpCfg, "silence", "query", "-o", "json").CombinedOutput()
	require.NoError(t, err, "amtool silence query: %s", out)
	require.Contains(t, string(out), "E2ETokenSilence")
	promtool := tool(t, "PROMTOOL", "promtool")
	out, err = exec.Command(promtool, "query", "instant", "--http.config.file="+httpCfg, s.web, "up").CombinedOutput()
	require.NoError(t, err, "promtool query with a bearer token: %s", out)

	// The audit log names the token.
	code, body = s.as(t, "admin", "GET", s.web+"/api/v1/appliance/audit?limit=50", nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"user":"token:ci"`, "the silence is audited under the token's name")

	// The console's API: listed for admins, without hashes; revoked there.
	code, body = s.as(t, "admin", "GET", s.web+"/api/v1/appliance/tokens", nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"name":"ci"`)
	require.NotContains(t, body, `"hash"`)
	code, _ = s.as(t, "operator", "GET", s.web+"/api/v1/appliance/tokens", nil, nil)
	require.Equal(t, http.StatusForbidden, code)
	code, body = s.as(t, "admin", "DELETE", s.web+"/api/v1/appliance/tokens/ci", nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	out, err = exec.Command(amtool, "--alertmanager.url="+s.am, "--http.config.file="+httpCfg, "silence", "query").CombinedOutput()
	require.Error(t, err, "revoked in the console: %s", out)

	// Revoked by the CLI against the running appliance: refused at once.
	out, err = exec.Command(binary, "token", "revoke", "--storage.path", s.dataDir, "dash").CombinedOutput()
	require.NoError(t, err, "%s", out)
	code, _ = s.bearer(t, viewer, "GET", s.am+"/api/v2/alerts", nil, nil)
	require.Equal(t, http.StatusUnauthorized, code, "a revoked token is refused")
	out, err = exec.Command(binary, "token", "list", "--storage.path", s.dataDir).CombinedOutput()
	require.NoError(t, err)
	require.NotContains(t, string(out), "dash")

	// Created in the console: shown once, works at once.
	code, body = s.as(t, "admin", "POST", s.web+"/api/v1/appliance/tokens", []byte(`{"name":"ui","role":"viewer","expires":"1h"}`), nil)
	require.Equal(t, http.StatusOK, code, body)
	var created struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	code, _ = s.bearer(t, created.Data.Token, "GET", s.am+"/api/v2/alerts", nil, nil)
	require.Equal(t, http.StatusOK, code)
}
