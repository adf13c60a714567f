package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestUILogin: with users configured, a browser lands on the login page,
// signs in with the web config's password, sees "Signed in as … (role)",
// and Log out ends the session on the server (the old cookie is refused).
// API clients keep basic auth.
func TestUILogin(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw-op1"), bcrypt.MinCost)
	require.NoError(t, err)
	webCfg := filepath.Join(cfg, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  op1: "+string(hash)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "appliance.yml"), []byte("auth:\n  users:\n    op1: operator\n"), 0o644))
	env := basicEnv(exp, hook)
	env["SMM_WEB_CONFIG_FILE"] = webCfg
	a := startAppliance(t, cfg, t.TempDir(), env)

	b := newUIBrowser(t, a.web)
	b.do(t, "open the console", chromedp.Navigate(a.web+"/"))
	b.wait(t, 15*time.Second, "the login page", `location.pathname.endsWith('/login') && document.getElementById('login-form')`)
	b.typeInto(t, "#login-user", "op1")
	b.typeInto(t, "#login-password", "wrong")
	b.click(t, "#login-submit")
	b.wait(t, 15*time.Second, "the error", `document.getElementById('login-error') && document.getElementById('login-error').textContent.includes('Wrong')`)
	b.typeInto(t, "#login-password", "pw-op1")
	b.click(t, "#login-submit")
	b.waitPage(t, "#/alerts")
	b.wait(t, 15*time.Second, "signed in as op1 (operator)", `document.getElementById('whoami-user').textContent === 'Signed in as op1 (operator)' && document.getElementById('logout')`)
	require.Equal(t, "operator", eval[string](t, b, `document.documentElement.dataset.role`))
	b.screenshot(t, "signed-in", false)

	// The session cookie, as the browser holds it.
	var cookie *network.Cookie
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{a.web + "/"}})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == "smm_session" {
				cookie = c
			}
		}
		return nil
	})))
	require.NotNil(t, cookie, "session cookie set")
	require.True(t, cookie.HTTPOnly)
	require.Equal(t, network.CookieSameSiteStrict, cookie.SameSite)
	require.False(t, cookie.Session, "the cookie expires")
	withCookie := func() int {
		req, err := http.NewRequest("GET", a.web+"/api/v1/appliance/whoami", nil)
		require.NoError(t, err)
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, withCookie())

	b.click(t, "#logout")
	b.wait(t, 15*time.Second, "back on the login page", `location.pathname.endsWith('/login') && document.getElementById('login-form')`)
	require.Equal(t, 401, withCookie(), "the session ended on the server")
	b.do(t, "open the console again", chromedp.Navigate(a.web+"/#/alerts"))
	b.wait(t, 15*time.Second, "the login page again: the browser is signed out", `location.pathname.endsWith('/login') && document.getElementById('login-form')`)

	// API clients keep basic auth.
	req, err := http.NewRequest("GET", a.web+"/api/v1/appliance/whoami", nil)
	require.NoError(t, err)
	req.SetBasicAuth("op1", "pw-op1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, b.jsErrors(), "errors in the browser console")
}
