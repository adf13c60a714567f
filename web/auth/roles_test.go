package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestRequired(t *testing.T) {
	cases := []struct {
		method, path string
		want         Role
	}{
		{"GET", "/api/v1/query", RoleViewer},
		{"POST", "/api/v1/query", RoleViewer},
		{"GET", "/api/v1/status/config", RoleAdmin},
		{"GET", "/alertmanager/api/v2/status", RoleAdmin},
		{"GET", "/api/v2/silences", RoleViewer},
		{"POST", "/api/v2/silences", RoleOperator},
		{"POST", "/alertmanager/api/v2/silences", RoleOperator},
		{"DELETE", "/api/v2/silence/abc", RoleOperator},
		{"POST", "/api/v2/alerts", RoleOperator},
		{"POST", "/api/v1/appliance/acks", RoleOperator},
		{"DELETE", "/api/v1/appliance/acks/0abc", RoleOperator},
		{"POST", "/-/reload", RoleAdmin},
		{"PUT", "/-/reload", RoleAdmin},
		{"POST", "/api/v1/admin/tsdb/snapshot", RoleAdmin},
		{"POST", "/api/alertmanager.v1.Something/Call", RoleAdmin}, // unknown writes are admin-only
		{"GET", "/debug/pprof/heap", RoleAdmin},
		{"GET", "/", RoleViewer},
		{"GET", "/-/healthy", RoleNone},
		{"HEAD", "/-/healthy", RoleNone},
		{"GET", "/-/ready", RoleNone},
		{"POST", "/-/healthy", RoleAdmin},            // not a health check
		{"GET", "/-/healthy/x", RoleViewer},          // exact paths only
		{"GET", "/alertmanager/-/ready", RoleViewer}, // the listeners' own, not the mounted API's
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.path, nil)
		require.Equal(t, c.want, Required(r), "%s %s", c.method, c.path)
	}
}

func TestMiddleware(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw-operator"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  op: "+string(h)+"\n"), 0o600))
	var events []Event
	a := New(Options{WebConfigFile: webCfg, WriteRate: 1, WriteBurst: 2, Logger: promslog.NewNopLogger(), Audit: func(e Event) { events = append(events, e) }})
	a.ApplyConfig(Config{AnonymousRole: RoleViewer, Users: map[string]Role{"op": RoleOperator}})
	ok := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(FromContext(r.Context()).User))
	}))
	do := func(method, path, user, pass string, hdr map[string]string) int {
		r := httptest.NewRequest(method, path, nil)
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		for k, v := range hdr {
			if k == "remote" {
				r.RemoteAddr = v
				continue
			}
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		ok.ServeHTTP(w, r)
		return w.Code
	}
	require.Equal(t, 200, do("GET", "/api/v1/query", "", "", nil), "anonymous viewer reads")
	require.Equal(t, 401, do("POST", "/api/v2/silences", "", "", nil), "anonymous cannot write")
	require.Equal(t, 401, do("GET", "/api/v1/query", "op", "wrong", nil))
	require.Equal(t, "login_failed", events[len(events)-1].Kind)
	require.Equal(t, 403, do("POST", "/-/reload", "op", "pw-operator", nil))
	require.Equal(t, 403, do("POST", "/api/v2/silences", "op", "pw-operator", map[string]string{"Origin": "https://evil.example"}))
	require.Equal(t, 200, do("POST", "/api/v2/silences", "op", "pw-operator", map[string]string{"Origin": "http://example.com"}), "same origin (httptest host)")
	// The burst of 2 is used up (one write above passed); the limit holds.
	codes := []int{do("POST", "/api/v2/silences", "op", "pw-operator", nil), do("POST", "/api/v2/silences", "op", "pw-operator", nil)}
	require.Contains(t, codes, 429)

	// Users come from the file and follow its changes without a restart.
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users: {}\n"), 0o600))
	// (From another client: this one is rate limited by now.)
	require.Equal(t, 200, do("POST", "/-/reload", "", "", map[string]string{"remote": "192.0.2.9:1"}), "no users left: authentication off")
}

// TestHealthChecksOpen: with users configured and no anonymous access, the
// health checks answer anyone — without credentials, or with wrong ones, as
// a probe with a stale password sends — while everything else still needs a
// password.
func TestHealthChecksOpen(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw-admin"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  admin: "+string(h)+"\n"), 0o600))
	var events []Event
	a := New(Options{WebConfigFile: webCfg, Logger: promslog.NewNopLogger(), Audit: func(e Event) { events = append(events, e) }})
	a.ApplyConfig(Config{Users: map[string]Role{"admin": RoleAdmin}})
	handler := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	cases := []struct {
		method, path string
		user, pass   string
		want         int
	}{
		{"GET", "/-/healthy", "", "", 200},
		{"HEAD", "/-/healthy", "", "", 200},
		{"GET", "/-/ready", "", "", 200},
		{"HEAD", "/-/ready", "", "", 200},
		{"GET", "/-/healthy", "admin", "stale", 200},
		{"GET", "/-/ready", "nobody", "x", 200},
		{"GET", "/api/v1/query", "", "", 401},
		{"GET", "/api/v2/alerts", "", "", 401},
		{"GET", "/", "", "", 401},
		{"GET", "/metrics", "", "", 401},
		{"GET", "/-/healthy/../api/v1/query", "", "", 401},
		{"GET", "/alertmanager/-/healthy", "", "", 401},
		{"POST", "/-/healthy", "", "", 401},
		{"POST", "/-/reload", "", "", 401},
		{"GET", "/api/v1/query", "admin", "stale", 401},
		{"POST", "/-/reload", "admin", "pw-admin", 200},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/", nil)
		r.URL.Path = c.path // unclean paths as a client may send them
		if c.user != "" {
			r.SetBasicAuth(c.user, c.pass)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		require.Equal(t, c.want, w.Code, "%s %s as %q", c.method, c.path, c.user)
	}
	for _, e := range events {
		require.NotContains(t, e.Path, "/-/healthy", "health checks are not audited")
		require.NotContains(t, e.Path, "/-/ready", "health checks are not audited")
	}
}

// TestWebConfigFailsClosed: a configured web config that cannot be read (here:
// deleted after the start-up check, before any request) lets nobody in but
// the health checks, rather than turning authentication off; once it is
// there, its users apply, and deleting it later keeps them.
func TestWebConfigFailsClosed(t *testing.T) {
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	a := New(Options{WebConfigFile: webCfg, Logger: promslog.NewNopLogger()})
	a.ApplyConfig(Config{Users: map[string]Role{"admin": RoleAdmin}})
	handler := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	do := func(method, path, user, pass string) int {
		r := httptest.NewRequest(method, path, nil)
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code
	}
	require.Equal(t, 503, do("GET", "/api/v1/query", "", ""))
	require.Equal(t, 503, do("POST", "/-/reload", "admin", "anything"))
	require.Equal(t, 200, do("GET", "/-/ready", "", ""))

	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users: [broken\n"), 0o600))
	require.Equal(t, 503, do("GET", "/api/v1/query", "", ""), "a broken file fails closed too")

	h, err := bcrypt.GenerateFromPassword([]byte("pw-admin"), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  admin: "+string(h)+"\n"), 0o600))
	require.Equal(t, 401, do("GET", "/api/v1/query", "", ""))
	require.Equal(t, 200, do("POST", "/-/reload", "admin", "pw-admin"))

	require.NoError(t, os.Remove(webCfg))
	require.Equal(t, 401, do("GET", "/api/v1/query", "", ""), "deleting the file does not turn authentication off")
	require.Equal(t, 200, do("POST", "/-/reload", "admin", "pw-admin"))
}

// TestFailedLoginsLimited: a guessing loop for one user from one client is
// refused with 429 past the burst, without a password check, while another
// user from the same address (a shared NAT) still logs in; the budget
// refills at the configured rate.
func TestFailedLoginsLimited(t *testing.T) {
	dir := t.TempDir()
	var users []string
	for _, u := range []string{"alice", "bob"} {
		h, err := bcrypt.GenerateFromPassword([]byte("pw-"+u), bcrypt.MinCost)
		require.NoError(t, err)
		users = append(users, "  "+u+": "+string(h))
	}
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n"+users[0]+"\n"+users[1]+"\n"), 0o600))
	var statuses []int
	a := New(Options{WebConfigFile: webCfg, LoginFailureRate: 20, LoginFailureBurst: 5, Logger: promslog.NewNopLogger(),
		Audit: func(e Event) {
			if e.Kind == "login_failed" {
				statuses = append(statuses, e.Status)
			}
		}})
	a.ApplyConfig(Config{Users: map[string]Role{"alice": RoleViewer, "bob": RoleViewer}})
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	do := func(user, pass, remote string) int {
		r := httptest.NewRequest("GET", "/api/v1/query", nil)
		r.SetBasicAuth(user, pass)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 5 {
		require.Equal(t, 401, do("alice", "guess", "192.0.2.1:1"), "attempt %d is checked", i+1)
	}
	require.Equal(t, 429, do("alice", "guess", "192.0.2.1:1"), "past the burst")
	require.Equal(t, 429, do("alice", "pw-alice", "192.0.2.1:1"), "not even the right password is checked while the budget is empty")
	require.Equal(t, 200, do("bob", "pw-bob", "192.0.2.1:1"), "another user behind the same address")
	require.Equal(t, 200, do("alice", "pw-alice", "192.0.2.2:1"), "the same user from another client")
	require.Equal(t, []int{401, 401, 401, 401, 401, 429, 429}, statuses, "refused attempts are audited (aggregated there) with 429")
	require.Eventually(t, func() bool { return do("alice", "pw-alice", "192.0.2.1:1") == 200 }, 5*time.Second, 10*time.Millisecond, "the budget refills")

	// Long names that differ only at the end are different users.
	long := strings.Repeat("x", 100000)
	for range 5 {
		require.Equal(t, 401, do(long+"a", "guess", "192.0.2.3:1"))
	}
	require.Equal(t, 429, do(long+"a", "guess", "192.0.2.3:1"))
	require.Equal(t, 401, do(long+"b", "guess", "192.0.2.3:1"), "checked: its own budget")
}
