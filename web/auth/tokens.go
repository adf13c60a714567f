package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smm-architect/smm-appliance/storage/persist"
)

// TokensFile is the API token store, relative to the data directory.
const TokensFile = "tokens.json"

// TokenPrefix starts every token, so a secret scanner (or a person) can tell
// one in a log or a repository.
const TokenPrefix = "smmat_"

// ScopeConfig lets a token deploy and roll back the configuration
// (POST /api/v1/appliance/config, .../versions/<n>/rollback) whatever its
// role: a CI job needs that and nothing else an admin may do.
const ScopeConfig = "config"

// Token is one API token as stored: its secret is kept only as a sha256
// hash. A token is 32 random bytes, so a fast hash is enough: nobody can
// guess a preimage of 256 bits, and bcrypt's cost (there to slow down
// dictionary attacks on low-entropy passwords) would buy nothing but
// latency on every API call.
type Token struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Scopes  []string  `json:"scopes,omitempty"`
	Hash    string    `json:"hash,omitempty"` // hex sha256 of the token; never served
	Created time.Time `json:"created"`
	// Expires is zero for a token that does not expire.
	Expires   time.Time `json:"expires,omitzero"`
	CreatedBy string    `json:"createdBy,omitempty"`
}

// Expired reports whether the token is past its expiry at now.
func (t Token) Expired(now time.Time) bool { return !t.Expires.IsZero() && !now.Before(t.Expires) }

// UnmarshalJSON reads a role name.
func (r *Role) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseRole(s)
	*r = v
	return err
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// TokenStore is the token file of a data directory. The CLI (against a
// stopped or a running appliance) and the running appliance (console,
// API) both change it; each change is a locked read-modify-write and an
// atomic replace, and the appliance re-reads the file when its size or
// modification time changes, so a token created or revoked by the CLI is
// in force at the next request, without a signal.
type TokenStore struct {
	path string

	mtx    sync.Mutex
	mod    time.Time
	size   int64
	byHash map[string]Token
	err    error
}

// NewTokenStore returns the store in path (data/tokens.json); the file
// need not exist.
func NewTokenStore(path string) *TokenStore { return &TokenStore{path: path} }

// Path is the token file.
func (s *TokenStore) Path() string { return s.path }

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func readTokens(path string) ([]Token, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	var f struct {
		Tokens []Token `json:"tokens"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return f.Tokens, nil
}

// lookup returns the token whose secret is tok, re-reading the file when
// it changed. A file that became unreadable keeps the tokens last read.
func (s *TokenStore) lookup(tok string) (Token, bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.byHash, s.mod, s.size = nil, time.Time{}, 0
	case err == nil && (fi.ModTime() != s.mod || fi.Size() != s.size || s.byHash == nil):
		toks, err := readTokens(s.path)
		if err == nil {
			s.byHash = map[string]Token{}
			for _, t := range toks {
				s.byHash[t.Hash] = t
			}
			s.mod, s.size = fi.ModTime(), fi.Size()
		}
		s.err = err
	}
	// Looked up by hash: the map lookup's timing depends on the hash of
	// what was sent, which tells nothing about any stored token.
	t, ok := s.byHash[hashToken(tok)]
	return t, ok
}

// List returns the tokens, without their hashes, by name.
func (s *TokenStore) List() ([]Token, error) {
	toks, err := readTokens(s.path)
	if err != nil {
		return nil, err
	}
	for i := range toks {
		toks[i].Hash = ""
	}
	slices.SortFunc(toks, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return toks, nil
}

// TokenRequest is what Create needs.
type TokenRequest struct {
	Name      string
	Role      Role
	Scopes    []string
	Expires   time.Duration // 0: never
	CreatedBy string
}

// Create makes a token and returns its secret, which is not stored and
// cannot be shown again.
func (s *TokenStore) Create(req TokenRequest) (string, Token, error) {
	if !tokenName.MatchString(req.Name) {
		return "", Token{}, fmt.Errorf("token name %q: want 1-64 letters, digits, '.', '_' or '-'", req.Name)
	}
	if req.Role < RoleViewer {
		return "", Token{}, fmt.Errorf("token role must be viewer, operator or admin")
	}
	for _, sc := range req.Scopes {
		if sc != ScopeConfig {
			return "", Token{}, fmt.Errorf("unknown token scope %q (known: %s)", sc, ScopeConfig)
		}
	}
	if req.Expires < 0 {
		return "", Token{}, fmt.Errorf("token expiry must be positive")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := time.Now().UTC().Truncate(time.Second)
	t := Token{Name: req.Name, Role: req.Role, Scopes: req.Scopes, Hash: hashToken(secret), Created: now, CreatedBy: req.CreatedBy}
	if req.Expires > 0 {
		t.Expires = now.Add(req.Expires)
	}
	err := s.update(func(toks []Token) ([]Token, error) {
		for _, o := range toks {
			if o.Name == req.Name {
				return nil, fmt.Errorf("a token named %q exists; revoke it first", req.Name)
			}
		}
		return append(toks, t), nil
	})
	if err != nil {
		return "", Token{}, err
	}
	t.Hash = ""
	return secret, t, nil
}

// ErrNoToken is returned by Revoke for a name that is not there.
var ErrNoToken = errors.New("no such token")

// Revoke deletes the token named name; it is refused from the next request.
func (s *TokenStore) Revoke(name string) error {
	return s.update(func(toks []Token) ([]Token, error) {
		i := slices.IndexFunc(toks, func(t Token) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrNoToken, name)
		}
		return slices.Delete(toks, i, i+1), nil
	})
}

// update is a read-modify-write of the file under an exclusive lock on a
// lock file beside it, so the CLI and the running appliance never lose
// each other's change.
func (s *TokenStore) update(change func([]Token) ([]Token, error)) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(s.path), err)
	}
	lock, err := os.OpenFile(s.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock tokens: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock tokens: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
	toks, err := readTokens(s.path)
	if err != nil {
		return err
	}
	toks, err = change(toks)
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []Token{}
	}
	b, err := json.MarshalIndent(map[string]any{"tokens": toks}, "", "  ")
	if err != nil {
		return err
	}
	if err := persist.WriteAtomic(s.path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return err
	}
	// Secrets' hashes: readable by the service user only. Run as root
	// (sudo smm-appliance token create), the file goes to the owner of
	// the data directory, the service user, who must go on reading it.
	if err := os.Chmod(s.path, 0o600); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if fi, err := os.Stat(filepath.Dir(s.path)); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				_ = os.Chown(s.path, int(st.Uid), int(st.Gid))
				_ = os.Chown(s.path+".lock", int(st.Uid), int(st.Gid))
			}
		}
	}
	return nil
}

// SetTokens gives the middleware the token store; nil turns bearer tokens
// off.
func (a *Authorizer) SetTokens(s *TokenStore) { a.tokens = s }

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// tokenIdentity authenticates a request that carries a bearer token. It
// answers the request itself (401, 429) and returns false when the token
// is not accepted. Bad tokens take from the same failed-login budget as
// bad passwords, keyed by the client and "bearer".
func (a *Authorizer) tokenIdentity(w http.ResponseWriter, r *http.Request, tok string) (Identity, bool) {
	client := clientAddr(r)
	const key = "\x00bearer"
	fail := func(user string, status int, msg string) (Identity, bool) {
		a.audit(Event{Kind: "login_failed", User: user, Remote: client, Method: r.Method, Path: r.URL.Path, Status: status})
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="smm-appliance"`)
		}
		http.Error(w, msg, status)
		return Identity{}, false
	}
	if a.loginFailures(client, key).Tokens() < 1 {
		return fail("", http.StatusTooManyRequests, "too many failed logins from this client")
	}
	var t Token
	ok := false
	if a.tokens != nil {
		t, ok = a.tokens.lookup(tok)
	}
	if !ok {
		a.loginFailures(client, key).Allow()
		return fail("", http.StatusUnauthorized, "unauthorized: unknown or revoked token")
	}
	if t.Expired(time.Now()) {
		a.loginFailures(client, key).Allow()
		return fail(TokenUser(t.Name), http.StatusUnauthorized, "unauthorized: token "+t.Name+" expired at "+t.Expires.Format(time.RFC3339))
	}
	return Identity{User: TokenUser(t.Name), Role: t.Role, Enabled: true, Token: t.Name, Scopes: t.Scopes}, true
}

// TokenUser is the name a token's requests are audited under.
func TokenUser(name string) string { return "token:" + name }

// scopeRoutes are the routes a token's scope opens, whatever its role.
var scopeRoutes = map[string][]struct{ method, pattern string }{
	ScopeConfig: {
		{http.MethodPost, "/api/v1/appliance/config"},
		{http.MethodPost, "/api/v1/appliance/config/versions/*/rollback"},
	},
}

// scopeAllows reports whether one of id's scopes opens the request.
func scopeAllows(id Identity, r *http.Request) bool {
	segs := strings.Split(RoutePath(r.URL.Path), "/")
	for _, sc := range id.Scopes {
		for _, rt := range scopeRoutes[sc] {
			if rt.method != r.Method {
				continue
			}
			want := strings.Split(rt.pattern, "/")
			if len(want) != len(segs) {
				continue
			}
			match := true
			for i := range want {
				if want[i] != segs[i] && (want[i] != "*" || segs[i] == "") {
					match = false
					break
				}
			}
			if match && r.URL.EscapedPath() == r.URL.Path {
				return true
			}
		}
	}
	return false
}
