// Package auth authenticates requests against the users of a
// prometheus/exporter-toolkit web config file (bcrypt hashes) and authorises
// them by role: viewer reads, operator also silences, acks and posts alerts,
// admin also reloads, uses the TSDB admin API and reads configuration dumps.
package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Role is a level of access; higher includes lower.
type Role int

// Roles, lowest first.
const (
	RoleNone Role = iota
	RoleViewer
	RoleOperator
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	switch s {
	case "none", "":
		return RoleNone, nil
	case "viewer":
		return RoleViewer, nil
	case "operator":
		return RoleOperator, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleNone, fmt.Errorf("unknown role %q (want none, viewer, operator or admin)", s)
}

// UnmarshalYAML reads a role name.
func (r *Role) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseRole(s)
	*r = v
	return err
}

// MarshalYAML writes the role name.
func (r Role) MarshalYAML() (any, error) { return r.String(), nil }

// MarshalJSON writes the role name.
func (r Role) MarshalJSON() ([]byte, error) { return []byte(`"` + r.String() + `"`), nil }

// Config is the `auth` section of appliance.yml. Users and their password
// hashes live in the web config file; this maps them to roles.
type Config struct {
	// AnonymousRole is what a request without credentials gets when users
	// are configured: none (the default) or viewer.
	AnonymousRole Role `yaml:"anonymous_role,omitempty"`
	// Users maps a user of the web config file to a role; users not listed
	// are viewers.
	Users map[string]Role `yaml:"users,omitempty"`
}

// RoleOf returns the role of an authenticated user.
func (c Config) RoleOf(user string) Role {
	if r, ok := c.Users[user]; ok {
		return r
	}
	return RoleViewer
}

// operatorWrites are the write endpoints operators may use; every other
// write is admin-only (deny by default).
var operatorWrites = []string{
	"/api/v2/alerts",
	"/api/v2/silences",
	"/api/v2/silence/",
	"/api/v1/appliance/acks",
	"/api/v1/write",
	"/api/v1/otlp/",
}

// readOnlyPosts are POSTs that only read (queries may be POSTed).
var readOnlyPosts = []string{
	"/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars", "/api/v1/series",
	"/api/v1/labels", "/api/v1/format_query", "/api/v1/parse_query",
}

// adminReads are reads that dump configuration or internals.
var adminReads = []string{
	"/api/v1/status/config",
	"/api/v2/status", // carries the Alertmanager configuration
	"/api/v1/status", // Alertmanager v1 status, same
	"/api/v1/appliance/audit",
	"/debug/",
}

// publicReads are the health checks: load balancers and kubelet probes
// carry no password, and the answers say only "healthy" or which part is
// not ready yet. Exact paths on either listener, nothing below them.
var publicReads = []string{"/-/healthy", "/-/ready"}

// Required returns the role a request needs; RoleNone means anyone, even
// with authentication on. The Alertmanager API is also mounted under
// /alertmanager/ on the web listener: paths are judged after that prefix is
// removed.
func Required(r *http.Request) Role {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		for _, h := range publicReads {
			if r.URL.Path == h {
				return RoleNone
			}
		}
	}
	p := strings.TrimPrefix(r.URL.Path, "/alertmanager")
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if p == "/-/reload" {
			return RoleAdmin
		}
		for _, a := range adminReads {
			if p == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(p, a)) {
				return RoleAdmin
			}
		}
		return RoleViewer
	}
	if r.Method == http.MethodPost {
		for _, q := range readOnlyPosts {
			if p == q {
				return RoleViewer
			}
		}
	}
	for _, w := range operatorWrites {
		if p == w || (strings.HasSuffix(w, "/") && strings.HasPrefix(p, w)) || strings.HasPrefix(p, w+"/") {
			return RoleOperator
		}
	}
	return RoleAdmin
}
