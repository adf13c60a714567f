package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// Event is a security-relevant outcome for the audit log.
type Event struct {
	Kind   string // "login_failed", "denied", "write"
	User   string
	Role   Role
	Remote string
	Method string
	Path   string
	Status int
}

// Options configure the middleware.
type Options struct {
	// WebConfigFile is the exporter-toolkit file with basic_auth_users; it
	// is re-read when it changes, so password changes need no restart.
	WebConfigFile string
	// WriteRate and WriteBurst limit write requests per client address.
	WriteRate  rate.Limit
	WriteBurst int
	// LoginFailureRate and LoginFailureBurst limit failed logins per client
	// address and user name: past the burst, the next attempts for that
	// user from that client answer 429 without a password check until the
	// rate refills — a guessing loop gets one try a second. Keyed by user
	// too, so a flood from a shared address (a NAT, a proxy) does not lock
	// out the other users behind it.
	LoginFailureRate  rate.Limit
	LoginFailureBurst int
	Audit             func(Event)
	Logger            *slog.Logger
}

// Authorizer is the middleware.
type Authorizer struct {
	opts   Options
	config atomic.Pointer[Config]

	mtx      sync.Mutex
	fileMod  time.Time
	fileSize int64
	users    map[string]string // user -> bcrypt hash; nil until read
	lastErr  string            // last error reading the file, logged once
	cache    map[string]bool   // sha256(user, hash, password) -> ok
	limiters map[string]*rate.Limiter
	failures map[string]*rate.Limiter // failed logins per client
	tokens   *TokenStore              // API tokens (tokens.go); nil: none
	sessions sessions                 // console logins (session.go)
}

// New builds the middleware. With no web config file, or one without users,
// authentication is off and every request has the admin role — the
// appliance's behaviour before users are configured, and the demo's.
func New(o Options) *Authorizer {
	if o.WriteRate == 0 {
		o.WriteRate, o.WriteBurst = 20, 40
	}
	if o.LoginFailureRate == 0 {
		o.LoginFailureRate, o.LoginFailureBurst = 1, 10
	}
	a := &Authorizer{opts: o, cache: map[string]bool{}, limiters: map[string]*rate.Limiter{}, failures: map[string]*rate.Limiter{}}
	a.config.Store(&Config{})
	return a
}

// ApplyConfig takes the auth section of appliance.yml.
func (a *Authorizer) ApplyConfig(c Config) { a.config.Store(&c) }

// LoadUsers reads the web config file's users; it is also the validation
// used at start and reload.
func LoadUsers(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read web config %s: %w", path, err)
	}
	var c web.Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("parse web config %s: %w", path, err)
	}
	users := make(map[string]string, len(c.Users))
	for u, h := range c.Users {
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("web config %s: user %q: password must be a bcrypt hash: %w", path, u, err)
		}
		users[u] = string(h)
	}
	return users, nil
}

// usersNow returns the current users, re-reading the file when it changed.
// A file that became invalid or unreadable keeps the last good users (and
// is logged). ok is false while a configured file has not been read
// successfully yet (deleted or broken after the start-up check): then nobody
// gets in, rather than everybody as admin.
func (a *Authorizer) usersNow() (users map[string]string, ok bool) {
	if a.opts.WebConfigFile == "" {
		return nil, true
	}
	a.mtx.Lock()
	defer a.mtx.Unlock()
	fi, err := os.Stat(a.opts.WebConfigFile)
	if err == nil && (fi.ModTime() != a.fileMod || fi.Size() != a.fileSize || a.users == nil) {
		var users map[string]string
		users, err = LoadUsers(a.opts.WebConfigFile)
		if err == nil {
			a.users, a.cache = users, map[string]bool{}
		}
		a.fileMod, a.fileSize = fi.ModTime(), fi.Size()
	}
	if err != nil {
		// Once per distinct error, not once per request.
		if msg := err.Error(); msg != a.lastErr {
			a.lastErr = msg
			a.opts.Logger.Error("web config not read; previous users stay in force (none yet: every request but the health checks is refused)", "component", "auth", "err", err)
		}
	} else {
		a.lastErr = ""
	}
	return a.users, a.users != nil
}

// fakeHash is compared for unknown users so their timing matches known ones:
// the bcrypt hash of "not-a-user" at bcrypt.DefaultCost. A constant, not
// computed at package init, where it cost every start 50 ms on the way to
// /-/ready (GODEBUG=inittrace=1).
const fakeHash = "$2a$10$wWrG4Q0rDtErZnQ.tQtAo.SRO9zE2VjkbJ.NfvkzTHQChG.orciVS"

func (a *Authorizer) check(user, pass string, users map[string]string) bool {
	hash, known := users[user]
	if !known {
		hash = fakeHash
	}
	sum := sha256.Sum256([]byte(user + "\x00" + hash + "\x00" + pass))
	key := hex.EncodeToString(sum[:])
	a.mtx.Lock()
	ok, cached := a.cache[key]
	a.mtx.Unlock()
	if !cached {
		ok = bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil && known
		a.mtx.Lock()
		if len(a.cache) > 10000 {
			a.cache = map[string]bool{}
		}
		a.cache[key] = ok
		a.mtx.Unlock()
	}
	return ok
}

type ctxKey struct{}

// Identity is the authenticated caller.
type Identity struct {
	User string `json:"user"`
	Role Role   `json:"role"`
	// Enabled is false when no users are configured (everyone is admin).
	Enabled bool `json:"authEnabled"`
	// Token names the API token the request came with (tokens.go).
	Token  string   `json:"token,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
	// Session is set when the caller signed in on the login page (and can
	// log out); basic auth and tokens leave it false.
	Session bool `json:"session,omitempty"`
}

// FromContext returns the caller of a request that passed the middleware.
func FromContext(ctx context.Context) Identity {
	id, _ := ctx.Value(ctxKey{}).(Identity)
	return id
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Wrap authenticates, applies CSRF and rate-limit checks to writes, and
// authorises by role. The health checks (Required is RoleNone) pass without
// any of that. The method goes on in upper case, as it was judged: every
// later check and router sees the same one (go-openapi upper-cases it for
// itself, Go's ServeMux does not).
func (a *Authorizer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := strings.ToUpper(r.Method); m != r.Method {
			r = r.WithContext(r.Context())
			r.Method = m
		}
		if a.serveSession(w, r) {
			return
		}
		d := Decide(r)
		need := d.Role
		if need == RoleNone {
			// Health checks: credentials are not even looked at, so a
			// probe with a stale password still works and the endpoint
			// tells nothing about a password either.
			next.ServeHTTP(w, r)
			return
		}
		cfg := a.config.Load()
		users, ok := a.usersNow()
		if !ok {
			http.Error(w, "authentication unavailable: the web config could not be read (see the log)", http.StatusServiceUnavailable)
			return
		}
		id := Identity{Role: RoleAdmin}
		if tok, isBearer := bearer(r); isBearer {
			// An API token (tokens.go), checked even with no users
			// configured: a credential that was sent is never ignored.
			if id, ok = a.tokenIdentity(w, r, tok); !ok {
				return
			}
		} else if len(users) > 0 {
			id = Identity{Role: cfg.AnonymousRole, Enabled: true}
			if user, pass, ok := r.BasicAuth(); ok {
				client := clientAddr(r)
				if a.loginFailures(client, user).Tokens() < 1 {
					a.audit(Event{Kind: "login_failed", User: user, Remote: client, Method: r.Method, Path: r.URL.Path, Status: http.StatusTooManyRequests})
					w.Header().Set("Retry-After", "1")
					http.Error(w, "too many failed logins from this client", http.StatusTooManyRequests)
					return
				}
				if !a.check(user, pass, users) {
					a.loginFailures(client, user).Allow()
					a.audit(Event{Kind: "login_failed", User: user, Remote: clientAddr(r), Method: r.Method, Path: r.URL.Path, Status: http.StatusUnauthorized})
					unauthorized(w)
					return
				}
				id = Identity{User: user, Role: cfg.RoleOf(user), Enabled: true}
			} else if user, ok := a.sessionUser(r, users); ok {
				id = Identity{User: user, Role: cfg.RoleOf(user), Enabled: true, Session: true}
			}
		}
		if id.Role < need && !scopeAllows(id, r) {
			if id.User == "" {
				if wantsLoginPage(r) {
					// A browser gets the login page, not the basic-auth prompt.
					w.Header().Set("Location", "login")
					w.WriteHeader(http.StatusSeeOther)
					return
				}
				unauthorized(w)
				return
			}
			a.audit(Event{Kind: "denied", User: id.User, Role: id.Role, Remote: clientAddr(r), Method: r.Method, Path: r.URL.Path, Status: http.StatusForbidden})
			http.Error(w, fmt.Sprintf("forbidden: %s needs the %s role, %s has %s", r.URL.Path, need, id.User, id.Role), http.StatusForbidden)
			return
		}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		if write && need > RoleViewer {
			if err := sameOrigin(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			// Alerts, remote write and OTLP come from machines that
			// retry or drop what is refused: they are bounded by body and
			// label limits, not by rate. People's writes keep the limit.
			if !d.Machine && !a.allow(clientAddr(r)) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "too many write requests from this client", http.StatusTooManyRequests)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
		// Writes and admin reads (configuration dumps, internals) are
		// audited; plain reads are not.
		if need == RoleViewer {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		kind := "write"
		if !write {
			kind = "admin_read"
		}
		a.audit(Event{Kind: kind, User: id.User, Role: id.Role, Remote: clientAddr(r), Method: r.Method, Path: r.URL.Path, Status: rec.status})
	})
}

func (a *Authorizer) audit(e Event) {
	if a.opts.Audit != nil {
		a.opts.Audit(e)
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="smm-appliance"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// sameOrigin refuses cross-site writes: a page on another site cannot make a
// browser that holds this appliance's credentials change silences or acks.
// API clients (amtool, curl) send no Origin and pass.
func sameOrigin(r *http.Request) error {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errors.New("cross-site write refused")
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != r.Host {
		return fmt.Errorf("cross-origin write from %q refused", origin)
	}
	return nil
}

func (a *Authorizer) allow(client string) bool {
	return a.limiter(a.limiters, client, a.opts.WriteRate, a.opts.WriteBurst).Allow()
}

// loginFailures is the failed-login budget of a user name from a client: a
// token is taken per failure, and an attempt without one is not checked.
func (a *Authorizer) loginFailures(client, user string) *rate.Limiter {
	// Hashed: the key stays small whatever the caller sends.
	sum := sha256.Sum256([]byte(user))
	return a.limiter(a.failures, client+"\x00"+string(sum[:]), a.opts.LoginFailureRate, a.opts.LoginFailureBurst)
}

// limiter returns the client's limiter in m, made on first use. The map is
// bounded: past 10,000 clients it starts afresh.
func (a *Authorizer) limiter(m map[string]*rate.Limiter, client string, r rate.Limit, burst int) *rate.Limiter {
	a.mtx.Lock()
	defer a.mtx.Unlock()
	l, ok := m[client]
	if !ok {
		if len(m) > 10000 {
			clear(m)
		}
		l = rate.NewLimiter(r, burst)
		m[client] = l
	}
	return l
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
