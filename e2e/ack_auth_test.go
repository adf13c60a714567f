package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestAckLinksWithLogin: with users configured, the plain link page needs
// a login, a viewer may look but not acknowledge, and an operator's ack is
// recorded as that user. With one-click links on, the signed link works
// without a login for its own alerts only, recorded as "via link from
// <receiver>"; a tampered one is refused; rotating the key (admin) revokes
// the links sent. Without their secrets the webhooks are not there (404).
func TestAckLinksWithLogin(t *testing.T) {
	fakes, env := newAckFakes(t)
	passwords := map[string]string{"viewer1": "viewer-pass-1", "operator1": "operator-pass-1", "admin1": "admin-pass-1"}
	roles := "auth:\n  users:\n"
	var users strings.Builder
	for _, u := range slices.Sorted(maps.Keys(passwords)) {
		h, err := bcrypt.GenerateFromPassword([]byte(passwords[u]), bcrypt.MinCost)
		require.NoError(t, err)
		fmt.Fprintf(&users, "  %s: %s\n", u, h)
		roles += fmt.Sprintf("    %s: %s\n", u, strings.TrimRight(u, "0123456789"))
	}
	dir := ackConfigDir(t, roles+"acknowledge:\n  one_click_links: true\n  link_expiry: 1h\n")
	pool := writeSelfSigned(t, dir)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n"+users.String()), 0o600))
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, u, user, contentType string, body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, body)
		require.NoError(t, err)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if user != "" {
			req.SetBasicAuth(user, passwords[user])
		}
		resp, err := cl.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	do := func(method, u, user string, form url.Values) (int, string) {
		t.Helper()
		if form == nil {
			return send(method, u, user, "", nil)
		}
		return send(method, u, user, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	}
	ready := func(a *appliance) bool {
		code, _ := do("GET", a.web+"/-/ready", "", nil)
		return code == http.StatusOK
	}
	a := startApplianceReady(t, dir, t.TempDir(), env, ready, "--web.config.file="+webCfg)
	states := func() map[string]ackedAlert {
		code, body := do("GET", a.web+"/api/v1/appliance/alerts", "admin1", nil)
		require.Equal(t, http.StatusOK, code, body)
		var resp struct{ Data []ackedAlert }
		require.NoError(t, json.Unmarshal([]byte(body), &resp))
		out := map[string]ackedAlert{}
		for _, al := range resp.Data {
			out[al.Labels["alertname"]+"/"+al.Labels["instance"]] = al
		}
		return out
	}

	alerts, err := json.Marshal([]amAlert{ackAlert("E2EOneClick", "db-1"), ackAlert("E2EOneClick", "db-2"), ackAlert("E2ELogin", "db-3")})
	require.NoError(t, err)
	code, body := send("POST", a.am+"/api/v2/alerts", "operator1", "application/json", bytes.NewReader(alerts))
	require.Equal(t, http.StatusOK, code, body)
	// The two E2EOneClick alerts may reach the group's first flush apart
	// (db-1 alone, then both): the link under test is the one of the
	// message that names both.
	var oneClick string
	waitFor(t, 15*time.Second, "the Slack and e-mail messages", func() bool {
		for _, text := range fakes.slackTexts(t, "E2EOneClick") {
			if strings.Contains(text, "db-1") && strings.Contains(text, "db-2") {
				oneClick = text
			}
		}
		return oneClick != "" && len(fakes.smtpd.to("db@e2e.example", "E2ELogin")) > 0
	})
	// The appliance's default external URL says http; it serves https.
	https := func(s string) string { return strings.Replace(s, "http://", "https://", 1) }

	// One-click: the signed link, no login.
	m := slackAckLink.FindStringSubmatch(oneClick)
	require.NotNil(t, m, oneClick)
	link := https(m[1])
	require.Contains(t, link, "/ack/link?")
	require.Contains(t, link, "cap=")
	code, page := do("GET", link, "", nil)
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "E2EOneClick on db-2")
	for k, al := range states() {
		require.Nil(t, al.Ack, "%s acked by a GET", k)
	}
	tampered := strings.Replace(link, "a=", "a="+states()["E2ELogin/db-3"].Fingerprint+".", 1)
	code, page = do("POST", tampered, "", url.Values{"reason": {"duplicate"}})
	require.Equal(t, http.StatusForbidden, code, "a capability for other alerts: %s", page)
	require.Nil(t, states()["E2ELogin/db-3"].Ack)
	code, page = do("POST", link+"&snooze=1s", "", url.Values{"reason": {"duplicate"}})
	require.Equal(t, http.StatusForbidden, code, "a snooze the message did not offer: %s", page)
	code, page = do("POST", link, "", url.Values{"reason": {"duplicate"}})
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "by via link from db-slack")
	st := states()
	for _, k := range []string{"E2EOneClick/db-1", "E2EOneClick/db-2"} {
		require.NotNil(t, st[k].Ack, k)
		require.Equal(t, "via link from db-slack", st[k].Ack.By)
		require.Equal(t, "duplicate", st[k].Ack.Reason)
	}
	require.Nil(t, st["E2ELogin/db-3"].Ack)

	// Rotating the key revokes the links sent so far; admins only.
	code, _ = do("POST", a.web+"/api/v1/appliance/ack-links/rotate-key", "operator1", url.Values{})
	require.Equal(t, http.StatusForbidden, code)
	code, body = do("POST", a.web+"/api/v1/appliance/ack-links/rotate-key", "admin1", url.Values{})
	require.Equal(t, http.StatusOK, code, body)
	code, page = do("GET", link, "", nil)
	require.Equal(t, http.StatusForbidden, code, page)
	require.Contains(t, page, "signature does not match")

	// The login page: an e-mail's plain-path link needs a login; the
	// ack is the operator's.
	mail := fakes.smtpd.to("db@e2e.example", "E2ELogin")[0]
	ml := mailAckLink.FindStringSubmatch(mail.Text)
	require.NotNil(t, ml, mail.Text)
	loginLink := strings.Replace(https(ml[1]), "/ack/link?", "/ack?", 1)
	code, _ = do("GET", loginLink, "", nil)
	require.Equal(t, http.StatusUnauthorized, code, "no login")
	code, page = do("GET", loginLink, "viewer1", nil)
	require.Equal(t, http.StatusOK, code, page)
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, action, page)
	post := a.web + strings.ReplaceAll(action[1], "&amp;", "&")
	code, _ = do("POST", post, "viewer1", url.Values{"reason": {"working_on_it"}})
	require.Equal(t, http.StatusForbidden, code, "a viewer does not acknowledge")
	require.Nil(t, states()["E2ELogin/db-3"].Ack)
	code, page = do("POST", post, "operator1", url.Values{"reason": {"not_actionable"}, "by": {"someone-else"}})
	require.Equal(t, http.StatusOK, code, page)
	login := states()["E2ELogin/db-3"]
	require.NotNil(t, login.Ack)
	require.Equal(t, "operator1", login.Ack.By, "the logged-in user, not the form's name")
	require.Equal(t, "not_actionable", login.Ack.Reason)

	// No secrets: no webhooks.
	for _, p := range []string{"/api/v1/appliance/webhooks/pagerduty", "/api/v1/appliance/webhooks/slack"} {
		code, _ = do("POST", a.web+p, "", url.Values{})
		require.Equal(t, http.StatusNotFound, code, p)
	}
}

// TestAckLinkKeyDamaged: a damaged link key does not stop the start: it is
// moved aside, a new one is made, and the audit log says so.
func TestAckLinkKeyDamaged(t *testing.T) {
	_, env := newAckFakes(t)
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "ack-link.key"), []byte("not a key"), 0o600))
	a := startAppliance(t, ackConfigDir(t, "acknowledge:\n  one_click_links: true\n"), data, env)
	moved, err := filepath.Glob(filepath.Join(data, "ack-link.key.corrupt-*"))
	require.NoError(t, err)
	require.Len(t, moved, 1)
	b, err := os.ReadFile(filepath.Join(data, "ack-link.key"))
	require.NoError(t, err)
	require.Len(t, strings.TrimSpace(string(b)), 64)
	var audit struct {
		Data []struct{ Event, Path string }
	}
	getJSON(t, a.web+"/api/v1/appliance/audit?event=state_file_damaged", &audit)
	require.Len(t, audit.Data, 1)
	require.Equal(t, filepath.Join(data, "ack-link.key"), audit.Data[0].Path)
}
