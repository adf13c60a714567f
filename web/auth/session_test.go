package auth

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestSessionLogin: the login form checks the web config's users, sets an
// HttpOnly, SameSite=Strict, expiring cookie (Secure under TLS) that then
// authenticates like basic auth; logout ends the session on the server;
// the failed-login limiter holds for the form; a password change ends the
// session; a browser without credentials gets the login page, an API
// client the basic-auth challenge.
func TestSessionLogin(t *testing.T) {
	dir := t.TempDir()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		require.NoError(t, err)
		return string(h)
	}
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  op: "+hash("pw-op")+"\n"), 0o600))
	var events []Event
	a := New(Options{WebConfigFile: webCfg, LoginFailureRate: 0.001, LoginFailureBurst: 3, Logger: promslog.NewNopLogger(), Audit: func(e Event) { events = append(events, e) }})
	a.ApplyConfig(Config{Users: map[string]Role{"op": RoleOperator}})
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := FromContext(r.Context())
		w.Write([]byte(id.User + "/" + id.Role.String()))
	}))
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	login := func(user, pass, remote string, tlsOn bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"username": {user}, "password": {pass}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = remote
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		return serve(r)
	}
	withCookie := func(method, path string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.AddCookie(c)
		return serve(r)
	}

	// The page itself needs no credentials.
	w := serve(httptest.NewRequest("GET", "/login", nil))
	require.Equal(t, 200, w.Code)
	require.Contains(t, w.Body.String(), `<form method="post" action="login"`)

	// A browser asking for the console is sent to it; an API client is not.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	w = serve(r)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "login", w.Header().Get("Location"))
	w = serve(httptest.NewRequest("GET", "/api/v1/query", nil))
	require.Equal(t, 401, w.Code)
	require.NotEmpty(t, w.Header().Get("WWW-Authenticate"), "API clients keep basic auth")

	// Wrong password: the form again, audited.
	w = login("op", "wrong", "192.0.2.1:1", false)
	require.Equal(t, 401, w.Code)
	require.Contains(t, w.Body.String(), "Wrong user name or password")
	require.Empty(t, w.Result().Cookies())
	require.Equal(t, "login_failed", events[len(events)-1].Kind)

	// Right password, under TLS: the cookie.
	w = login("op", "pw-op", "192.0.2.1:1", true)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "./", w.Header().Get("Location"))
	cs := w.Result().Cookies()
	require.Len(t, cs, 1)
	c := cs[0]
	require.Equal(t, SessionCookie, c.Name)
	require.True(t, c.HttpOnly, "HttpOnly")
	require.True(t, c.Secure, "Secure under TLS")
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Greater(t, c.MaxAge, 0, "expiring")
	require.LessOrEqual(t, c.MaxAge, int(SessionTTL.Seconds()))
	require.False(t, login("op", "pw-op", "192.0.2.1:1", false).Result().Cookies()[0].Secure, "not Secure over plain HTTP (the browser would drop it)")

	w = withCookie("GET", "/api/v1/query", c)
	require.Equal(t, 200, w.Code)
	require.Equal(t, "op/operator", w.Body.String())
	require.Equal(t, 401, withCookie("GET", "/api/v1/query", &http.Cookie{Name: SessionCookie, Value: c.Value + "x"}).Code, "a forged token")

	// Logout ends the session on the server, not only in the browser.
	w = withCookie("POST", "/logout", c)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, -1, w.Result().Cookies()[0].MaxAge, "cookie cleared")
	require.Equal(t, 401, withCookie("GET", "/api/v1/query", c).Code, "the old cookie no longer works")
	require.Equal(t, 405, serve(httptest.NewRequest("GET", "/logout", nil)).Code, "no logout by a GET (a link or an image)")

	// A password change ends existing sessions.
	c = login("op", "pw-op", "192.0.2.1:1", false).Result().Cookies()[0]
	require.Equal(t, 200, withCookie("GET", "/api/v1/query", c).Code)
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  op: "+hash("pw-new")+"\n"), 0o600))
	require.Equal(t, 401, withCookie("GET", "/api/v1/query", c).Code, "session of the old password")

	// The failed-login limiter holds for the form: after the burst, even the
	// right password is not checked.
	for i := range 3 {
		require.Equal(t, 401, login("op", "guess", "192.0.2.7:1", false).Code, "attempt %d", i+1)
	}
	w = login("op", "pw-new", "192.0.2.7:1", false)
	require.Equal(t, 429, w.Code)
	require.Empty(t, w.Result().Cookies())
	require.Equal(t, http.StatusSeeOther, login("op", "pw-new", "192.0.2.8:1", false).Code, "another client")

	// Cross-site form posts are refused.
	r = httptest.NewRequest("POST", "/login", strings.NewReader("username=op&password=pw-new"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	require.Equal(t, 403, serve(r).Code)
}

// TestSessionStoreBounded: past maxSessions the oldest session goes.
func TestSessionStoreBounded(t *testing.T) {
	var s sessions
	now := timeNowForTest()
	first, _ := s.create("u", "h", now)
	for i := 1; i < maxSessions; i++ {
		s.create("u", "h", now.Add(timeStep(i)))
	}
	_, ok := s.get(first, now)
	require.True(t, ok)
	s.create("u", "h", now.Add(timeStep(maxSessions)))
	_, ok = s.get(first, now)
	require.False(t, ok, "the oldest made room")
	require.Len(t, s.m, maxSessions)
	_, ok = s.get(first, now.Add(SessionTTL+timeStep(1)))
	require.False(t, ok)
}

func timeNowForTest() time.Time    { return time.Unix(1_800_000_000, 0) }
func timeStep(i int) time.Duration { return time.Duration(i) * time.Millisecond }
