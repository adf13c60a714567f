package pkgtest

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/smm-architect/smm-appliance/web/auth"
)

// The web config an installation creates, and the copy of its password.
const (
	webConfigPath    = "/etc/smm-appliance/web.yml"
	passwordFilePath = "/etc/smm-appliance/initial-admin-password"
)

// printedPassword finds the password init-auth printed.
var printedPassword = regexp.MustCompile(`(?m)^ +password: +(\S+)$`)

// unitEnvironment reads the Environment= settings of a unit's [Service]
// section (KEY=VALUE words, unquoted as the shipped unit writes them).
func unitEnvironment(t *testing.T, unitFile string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(unitFile)
	require.NoError(t, err)
	env := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if !strings.HasPrefix(line, "Environment=") {
			continue
		}
		for _, kv := range strings.Fields(strings.TrimPrefix(line, "Environment=")) {
			k, v, ok := strings.Cut(kv, "=")
			require.True(t, ok, "Environment= word %q", kv)
			env[k] = v
		}
	}
	return env
}

// serviceEnv is the environment systemd gives the service: the unit's
// Environment=, overridden by the environment file.
func serviceEnv(t *testing.T, unitFile, envFile string) map[string]string {
	t.Helper()
	env := unitEnvironment(t, unitFile)
	maps.Copy(env, readEnvFile(t, envFile))
	return env
}

// checkInstalledAuth asserts what the install step created: the web config
// (owner root, group gid, 0640) with user admin, the root-only copy of the
// password, and the password printed in the install output. It returns the
// password.
func checkInstalledAuth(t *testing.T, root, installOutput string, gid int) string {
	t.Helper()
	checkMode(t, root, webConfigPath, 0o640, 0, gid)
	checkMode(t, root, passwordFilePath, 0o600, 0, 0)
	m := printedPassword.FindStringSubmatch(installOutput)
	require.NotNil(t, m, "the install printed the password:\n%s", installOutput)
	require.Regexp(t, `(?m)^ +user: +admin$`, installOutput)
	require.Contains(t, installOutput, passwordFilePath, "the install says where the copy is")
	pw := m[1]
	require.Equal(t, pw+"\n", string(mustRead(t, filepath.Join(root, passwordFilePath))), "the copy is the printed password")
	users, err := auth.LoadUsers(filepath.Join(root, webConfigPath))
	require.NoError(t, err)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(users["admin"]), []byte(pw)), "web config holds the password's hash")
	require.NotContains(t, string(mustRead(t, filepath.Join(root, webConfigPath))), pw, "only the hash")
	return pw
}

// checkAuthKept asserts that a later install (upgrade, reinstall) left the
// web config and the password copy as they were and printed no password.
func checkAuthKept(t *testing.T, root, output string, webConfig, password []byte) {
	t.Helper()
	require.Equal(t, string(webConfig), string(mustRead(t, filepath.Join(root, webConfigPath))), "web config unchanged")
	require.Equal(t, string(password), string(mustRead(t, filepath.Join(root, passwordFilePath))), "password copy unchanged")
	require.NotRegexp(t, printedPassword, output, "no new password printed")
	require.Contains(t, output, "exists; its users and passwords are unchanged")
}

// checkAuth asserts, on both listeners, that the installation requires the
// password: anonymous reads and writes get 401, a wrong password too, the
// health checks answer anyone, and the generated password is an admin's.
func checkAuth(t *testing.T, r *running, password string) {
	t.Helper()
	for _, base := range []string{r.web, r.am} {
		for _, c := range []struct {
			method, path string
			user, pass   string
			want         int
		}{
			{"GET", "/-/healthy", "", "", 200},
			{"GET", "/-/ready", "", "", 200},
			{"GET", "/api/v1/alerts", "", "", 401},
			{"POST", "/-/reload", "", "", 401},
			{"GET", "/api/v1/alerts", "admin", "wrong-password", 401},
			{"GET", "/api/v1/alerts", "admin", password, 200},
			{"POST", "/-/reload", "admin", password, 200},
		} {
			code, body := httpDo(c.method, base+c.path, c.user, c.pass)
			require.Equal(t, c.want, code, "%s %s%s as %q: %s", c.method, base, c.path, c.user, body)
		}
	}
	for _, p := range []string{"/api/v1/query?query=up", "/api/v1/status/config", "/"} {
		code, _ := httpDo("GET", r.web+p, "", "")
		require.Equal(t, http.StatusUnauthorized, code, "anonymous GET %s", p)
	}
	code, body := httpDo("GET", r.web+"/api/v1/appliance/whoami", "admin", password)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"role":"admin"`, "the shipped appliance.yml makes admin an admin")
}

func httpDo(method, u, user, pass string) (int, []byte) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return 0, nil
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
