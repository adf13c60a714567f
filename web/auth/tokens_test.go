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

// TestTokens: a token is stored as a hash only, authenticates as
// token:<name> with its role, is refused once revoked or expired (the
// file is re-read, as the CLI changes it), and a scope opens only its
// routes.
func TestTokens(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  admin: "+string(h)+"\n"), 0o600))
	var events []Event
	a := New(Options{WebConfigFile: webCfg, Logger: promslog.NewNopLogger(), LoginFailureRate: 1, LoginFailureBurst: 3, Audit: func(e Event) { events = append(events, e) }})
	a.ApplyConfig(Config{Users: map[string]Role{"admin": RoleAdmin}})
	store := NewTokenStore(filepath.Join(dir, TokensFile))
	a.SetTokens(store)
	handler := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(FromContext(r.Context()).User))
	}))
	do := func(method, path, tok, remote string) (int, string) {
		r := httptest.NewRequest(method, path, nil)
		if remote != "" {
			r.RemoteAddr = remote
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}

	viewer, _, err := store.Create(TokenRequest{Name: "dash", Role: RoleViewer})
	require.NoError(t, err)
	ci, info, err := store.Create(TokenRequest{Name: "ci", Role: RoleOperator, Scopes: []string{ScopeConfig}, Expires: time.Hour})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ci, TokenPrefix))
	require.Empty(t, info.Hash)
	_, _, err = store.Create(TokenRequest{Name: "ci", Role: RoleViewer})
	require.ErrorContains(t, err, "exists")
	_, _, err = store.Create(TokenRequest{Name: "../x", Role: RoleViewer})
	require.Error(t, err)

	b, err := os.ReadFile(store.Path())
	require.NoError(t, err)
	require.NotContains(t, string(b), ci, "the secret is not stored")
	require.Contains(t, string(b), hashToken(ci))
	fi, err := os.Stat(store.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, user := do("GET", "/api/v1/query", viewer, "")
	require.Equal(t, 200, code)
	require.Equal(t, "token:dash", user)
	code, _ = do("POST", "/api/v1/appliance/config", viewer, "")
	require.Equal(t, 403, code, "a viewer's token cannot deploy")
	code, _ = do("POST", "/api/v2/silences", viewer, "")
	require.Equal(t, 403, code)
	code, _ = do("POST", "/api/v1/appliance/config", ci, "")
	require.Equal(t, 200, code, "the config scope opens deploys")
	code, _ = do("POST", "/api/v1/appliance/config/versions/3/rollback", ci, "")
	require.Equal(t, 200, code)
	code, _ = do("POST", "/-/reload", ci, "")
	require.Equal(t, 403, code, "and nothing else an admin may do")
	code, _ = do("POST", "/api/v1/appliance/%63onfig/../tokens", ci, "")
	require.Equal(t, 403, code)

	require.NoError(t, store.Revoke("dash"))
	code, _ = do("GET", "/api/v1/query", viewer, "")
	require.Equal(t, 401, code, "revoked")
	require.Equal(t, "login_failed", events[len(events)-1].Kind)
	require.ErrorIs(t, store.Revoke("dash"), ErrNoToken)

	// Expired: written as another process (the CLI) would.
	_, _, err = store.Create(TokenRequest{Name: "old", Role: RoleAdmin, Expires: time.Second})
	require.NoError(t, err)
	toks, err := readTokens(store.Path())
	require.NoError(t, err)
	require.Len(t, toks, 2)

	// Bad tokens share the failed-login budget: past the burst, 429.
	codes := map[int]int{}
	for range 6 {
		c, _ := do("GET", "/api/v1/query", "smmat_guess", "192.0.2.7:1")
		codes[c]++
	}
	require.Equal(t, map[int]int{401: 3, 429: 3}, codes)
	code, _ = do("GET", "/api/v1/query", ci, "192.0.2.8:1")
	require.Equal(t, 200, code, "other clients are not locked out")

	list, err := store.List()
	require.NoError(t, err)
	require.Equal(t, []string{"ci", "old"}, []string{list[0].Name, list[1].Name})
	for _, tk := range list {
		require.Empty(t, tk.Hash)
	}
}

func TestTokenExpired(t *testing.T) {
	dir := t.TempDir()
	a := New(Options{Logger: promslog.NewNopLogger()})
	store := NewTokenStore(filepath.Join(dir, TokensFile))
	a.SetTokens(store)
	handler := a.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tok, _, err := store.Create(TokenRequest{Name: "short", Role: RoleAdmin, Expires: time.Nanosecond})
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/api/v1/query", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	require.Equal(t, 401, w.Code)
	require.Contains(t, w.Body.String(), "expired")
}
