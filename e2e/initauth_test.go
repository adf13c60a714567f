package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loggedPassword finds the password a first start with
// --web.config.generate logs.
var loggedPassword = regexp.MustCompile(`\bpassword=(\S+)`)

// TestGeneratedAdminPassword starts the binary as the image does (web config
// and generation from the environment, the file in the data directory, the
// embedded appliance.yml): the first start creates the web config with a
// random admin password and logs it once; the password is an admin's; the
// health checks answer anyone while the rest needs it; a second start keeps
// the file and logs no password.
func TestGeneratedAdminPassword(t *testing.T) {
	data := t.TempDir()
	webCfg := filepath.Join(data, "web.yml")
	env := map[string]string{"SMM_WEB_CONFIG_FILE": webCfg, "SMM_WEB_CONFIG_GENERATE": "true"}
	a := startAppliance(t, "", data, env)

	m := loggedPassword.FindStringSubmatch(a.logs.String())
	require.NotNil(t, m, "the first start logs the password")
	password := m[1]
	require.GreaterOrEqual(t, len(password), 20)
	got, err := os.ReadFile(filepath.Join(data, "initial-admin-password"))
	require.NoError(t, err)
	require.Equal(t, password+"\n", string(got))
	for p, mode := range map[string]os.FileMode{webCfg: 0o640, filepath.Join(data, "initial-admin-password"): 0o600} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), p)
	}
	checkGeneratedAuth(t, a, password)
	a.stop()

	before, err := os.ReadFile(webCfg)
	require.NoError(t, err)
	a = startAppliance(t, "", data, env)
	require.NotRegexp(t, loggedPassword, a.logs.String(), "logged only on the first start")
	after, err := os.ReadFile(webCfg)
	require.NoError(t, err)
	require.Equal(t, string(before), string(after), "an existing web config is kept")
	checkGeneratedAuth(t, a, password)
	a.stop()
}

func checkGeneratedAuth(t *testing.T, a *appliance, password string) {
	t.Helper()
	do := func(method, u, user, pass string) (int, string) {
		req, err := http.NewRequest(method, u, nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, base := range []string{a.web, a.am} {
		for _, c := range []struct {
			method, path, user, pass string
			want                     int
		}{
			{"GET", "/-/healthy", "", "", 200},
			{"GET", "/-/ready", "", "", 200},
			{"GET", "/api/v1/alerts", "", "", 401},
			{"POST", "/-/reload", "", "", 401},
			{"GET", "/api/v1/alerts", "admin", "not-the-password", 401},
			{"GET", "/api/v1/alerts", "admin", password, 200},
			{"POST", "/-/reload", "admin", password, 200},
		} {
			code, body := do(c.method, base+c.path, c.user, c.pass)
			require.Equal(t, c.want, code, "%s %s%s as %q: %s", c.method, base, c.path, c.user, body)
		}
	}
	code, _ := do("GET", a.web+"/api/v1/query?query=up", "", "")
	require.Equal(t, http.StatusUnauthorized, code)
	_, body := do("GET", a.web+"/api/v1/appliance/whoami", "admin", password)
	require.JSONEq(t, `{"status":"success","data":{"user":"admin","role":"admin","authEnabled":true}}`, body, "the embedded appliance.yml makes admin an admin")
}
