package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smm-architect/smm-appliance/web/auth"
)

// ConfigAPI serves configuration deploys, versions and API tokens under
// /api/v1/appliance/ (roles in auth's table: admin, or a token with the
// config scope for deploys and rollbacks).
type ConfigAPI struct {
	// Deploy validates (and unless dryRun applies) a bundle; it answers
	// the status code and a JSON-able result.
	Deploy func(ctx context.Context, by string, body io.Reader, dryRun bool) (int, any)
	// Rollback applies version n again.
	Rollback func(by string, n int) (int, any)
	// Versions lists the versions; Version returns one with its diff.
	Versions func() any
	Version  func(n int) (any, error)
	// NotFound tells Version's "no such version" from other errors.
	NotFound error
	// Tokens is the API token store.
	Tokens *auth.TokenStore
	// MaxBundle bounds a deploy's request body.
	MaxBundle int64
}

// Wrap serves the config API's routes and passes the rest of
// /api/v1/appliance/ to next.
func (c *ConfigAPI) Wrap(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("POST /api/v1/appliance/config", c.deploy)
	mux.HandleFunc("GET /api/v1/appliance/config/versions", func(w http.ResponseWriter, _ *http.Request) {
		writeAPI(w, http.StatusOK, c.Versions(), nil)
	})
	mux.HandleFunc("GET /api/v1/appliance/config/versions/{n}", c.version)
	mux.HandleFunc("POST /api/v1/appliance/config/versions/{n}/rollback", c.rollback)
	mux.HandleFunc("GET /api/v1/appliance/tokens", c.listTokens)
	mux.HandleFunc("POST /api/v1/appliance/tokens", c.createToken)
	mux.HandleFunc("DELETE /api/v1/appliance/tokens/{name}", c.revokeToken)
	return mux
}

func by(r *http.Request) string {
	if u := auth.FromContext(r.Context()).User; u != "" {
		return u
	}
	return "api"
}

// writeResult answers a deploy or rollback in the API's envelope, with the
// result in data even on failure, so a CI job reads .data.result,
// .data.version, .data.error, .data.file and .data.line whatever happened.
func writeResult(w http.ResponseWriter, code int, res any) {
	w.Header().Set("Content-Type", "application/json")
	status := "success"
	if code >= 300 {
		status = "error"
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(apiResponse{Status: status, Data: res})
}

func (c *ConfigAPI) deploy(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/x-tar") && !strings.HasPrefix(ct, "application/gzip") &&
		!strings.HasPrefix(ct, "application/x-gzip") && !strings.HasPrefix(ct, "application/octet-stream") {
		writeResult(w, http.StatusUnsupportedMediaType, map[string]string{"result": "refused", "error": "Content-Type must be application/x-tar (gzip accepted), not " + ct})
		return
	}
	dry := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeResult(w, http.StatusBadRequest, map[string]string{"result": "refused", "error": "dry_run must be true or false"})
			return
		}
		dry = b
	}
	code, res := c.Deploy(r.Context(), by(r), http.MaxBytesReader(w, r.Body, c.MaxBundle), dry)
	writeResult(w, code, res)
}

func versionNumber(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("version must be a positive number, not %q", r.PathValue("n")))
		return 0, false
	}
	return n, true
}

func (c *ConfigAPI) version(w http.ResponseWriter, r *http.Request) {
	n, ok := versionNumber(w, r)
	if !ok {
		return
	}
	v, err := c.Version(n)
	if err != nil {
		code := http.StatusInternalServerError
		if c.NotFound != nil && errors.Is(err, c.NotFound) {
			code = http.StatusNotFound
		}
		writeAPI(w, code, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, v, nil)
}

func (c *ConfigAPI) rollback(w http.ResponseWriter, r *http.Request) {
	n, ok := versionNumber(w, r)
	if !ok {
		return
	}
	code, res := c.Rollback(by(r), n)
	writeResult(w, code, res)
}

func (c *ConfigAPI) listTokens(w http.ResponseWriter, _ *http.Request) {
	toks, err := c.Tokens.List()
	if err != nil {
		writeAPI(w, http.StatusInternalServerError, nil, err)
		return
	}
	if toks == nil {
		toks = []auth.Token{}
	}
	writeAPI(w, http.StatusOK, toks, nil)
}

type tokenRequest struct {
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Scopes  []string `json:"scopes"`
	Expires string   `json:"expires"` // a Go duration, e.g. 720h; empty: never
}

func (c *ConfigAPI) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeStrict(w, r, maxBody, &req); err != nil {
		writeAPI(w, statusOf(err), nil, err)
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		writeAPI(w, http.StatusBadRequest, nil, err)
		return
	}
	var exp time.Duration
	if req.Expires != "" {
		if exp, err = time.ParseDuration(req.Expires); err != nil {
			writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("expires: %w", err))
			return
		}
	}
	secret, tok, err := c.Tokens.Create(auth.TokenRequest{Name: req.Name, Role: role, Scopes: req.Scopes, Expires: exp, CreatedBy: by(r)})
	if err != nil {
		writeAPI(w, http.StatusBadRequest, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, map[string]any{"token": secret, "info": tok}, nil)
}

func (c *ConfigAPI) revokeToken(w http.ResponseWriter, r *http.Request) {
	err := c.Tokens.Revoke(r.PathValue("name"))
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, auth.ErrNoToken) {
			code = http.StatusNotFound
		}
		writeAPI(w, code, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, map[string]string{"revoked": r.PathValue("name")}, nil)
}
