package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Console sessions: a login form (POST /login) that checks the web config's
// users like basic auth does, under the same failed-login limiter, and sets a
// session cookie; POST /logout ends the session. API clients keep basic auth.
//
// Sessions live in memory only: a restart signs everyone out, which is the
// price of not writing session secrets to the data directory.

const (
	// SessionCookie is the name of the console's session cookie.
	SessionCookie = "smm_session"
	// SessionTTL is how long a session lasts from login; a new login starts
	// a new one. A shift, not a week: a forgotten browser tab signs out.
	SessionTTL = 12 * time.Hour
	// maxSessions bounds the store; past it the oldest session goes.
	maxSessions = 10000
)

type session struct {
	user    string
	hash    string // the user's bcrypt hash at login: a password change ends the session
	expires time.Time
}

type sessions struct {
	mtx sync.Mutex
	m   map[string]session // sha256(token) -> session: the store never holds a usable token
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *sessions) create(user, hash string, now time.Time) (string, time.Time) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	token := base64.RawURLEncoding.EncodeToString(b)
	exp := now.Add(SessionTTL)
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.m == nil {
		s.m = map[string]session{}
	}
	if len(s.m) >= maxSessions {
		oldest, ot := "", time.Time{}
		for k, v := range s.m {
			if now.After(v.expires) {
				delete(s.m, k)
				continue
			}
			if oldest == "" || v.expires.Before(ot) {
				oldest, ot = k, v.expires
			}
		}
		if len(s.m) >= maxSessions {
			delete(s.m, oldest)
		}
	}
	s.m[tokenKey(token)] = session{user: user, hash: hash, expires: exp}
	return token, exp
}

func (s *sessions) get(token string, now time.Time) (session, bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	k := tokenKey(token)
	v, ok := s.m[k]
	if ok && now.After(v.expires) {
		delete(s.m, k)
		ok = false
	}
	return v, ok
}

func (s *sessions) delete(token string) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	delete(s.m, tokenKey(token))
}

// sessionUser returns the user of the request's session cookie, if it is a
// live session of a user who still has the same password.
func (a *Authorizer) sessionUser(r *http.Request, users map[string]string) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	s, ok := a.sessions.get(c.Value, time.Now())
	if !ok || users[s.user] != s.hash {
		return "", false
	}
	return s.user, true
}

// serveSession answers the login page, the login form and logout; it
// reports whether it answered. It runs before any other check: the login
// page must be reachable without credentials.
func (a *Authorizer) serveSession(w http.ResponseWriter, r *http.Request) bool {
	switch RoutePath(r.URL.Path) {
	case "/login":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			a.loginPage(w, r, http.StatusOK, "")
		case http.MethodPost:
			a.login(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
		return true
	case "/logout":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed: log out with POST", http.StatusMethodNotAllowed)
			return true
		}
		if err := sameOrigin(r); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return true
		}
		if c, err := r.Cookie(SessionCookie); err == nil {
			a.sessions.delete(c.Value)
		}
		http.SetCookie(w, sessionCookie(r, "", time.Unix(0, 0)))
		w.Header().Set("Location", "login")
		w.WriteHeader(http.StatusSeeOther)
		return true
	}
	return false
}

func sessionCookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(time.Until(expires).Seconds())
	}
	return c
}

func (a *Authorizer) login(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	users, ok := a.usersNow()
	if !ok {
		http.Error(w, "authentication unavailable: the web config could not be read (see the log)", http.StatusServiceUnavailable)
		return
	}
	if len(users) == 0 {
		// Authentication is off: nothing to sign in to.
		w.Header().Set("Location", "./")
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		a.loginPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	client := clientAddr(r)
	if a.loginFailures(client, user).Tokens() < 1 {
		a.audit(Event{Kind: "login_failed", User: user, Remote: client, Method: r.Method, Path: r.URL.Path, Status: http.StatusTooManyRequests})
		w.Header().Set("Retry-After", "1")
		a.loginPage(w, r, http.StatusTooManyRequests, "Too many failed logins from this client: wait a moment and try again.")
		return
	}
	if user == "" || !a.check(user, pass, users) {
		a.loginFailures(client, user).Allow()
		a.audit(Event{Kind: "login_failed", User: user, Remote: client, Method: r.Method, Path: r.URL.Path, Status: http.StatusUnauthorized})
		a.loginPage(w, r, http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	token, exp := a.sessions.create(user, users[user], time.Now())
	a.audit(Event{Kind: "login", User: user, Role: a.config.Load().RoleOf(user), Remote: client, Method: r.Method, Path: r.URL.Path, Status: http.StatusSeeOther})
	http.SetCookie(w, sessionCookie(r, token, exp))
	// Back to the console, relative so it works under a path prefix.
	w.Header().Set("Location", "./")
	w.WriteHeader(http.StatusSeeOther)
}

// wantsLoginPage reports whether an unauthenticated request is a browser
// asking for the console, which gets the login page instead of the basic
// auth prompt.
func wantsLoginPage(r *http.Request) bool {
	p := RoutePath(r.URL.Path)
	return r.Method == http.MethodGet && (p == "/" || p == "/index.html") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// loginCSP: the page runs no script and posts only to this origin.
const loginCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Sign in · SMM Appliance</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:Canvas;color:CanvasText}
main{max-width:340px;margin:12vh auto;padding:24px;border:1px solid #8884;border-radius:8px}
h1{font-size:20px;margin:0 0 16px}label{display:block;margin:0 0 12px}
input{display:block;width:100%;box-sizing:border-box;padding:7px 8px;margin-top:4px;font:inherit}
button{padding:7px 16px;font:inherit;cursor:pointer}.err{color:#d92d20;margin:0 0 12px}
</style></head><body><main>
<h1>SMM Appliance</h1>
{{if .Error}}<p class="err" id="login-error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="login" id="login-form">
<label>User name <input name="username" id="login-user" autocomplete="username" required autofocus value="{{.User}}"></label>
<label>Password <input name="password" id="login-password" type="password" autocomplete="current-password" required></label>
<button type="submit" id="login-submit">Sign in</button>
</form></main></body></html>
`))

func (a *Authorizer) loginPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", loginCSP)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	user := ""
	if r.Method == http.MethodPost {
		user = r.PostForm.Get("username")
	}
	_ = loginTmpl.Execute(w, struct{ Error, User string }{msg, user})
}
