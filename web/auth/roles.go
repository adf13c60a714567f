// Package auth authenticates requests against the users of a
// prometheus/exporter-toolkit web config file (bcrypt hashes) and authorises
// them by role: viewer reads, operator also silences, acks and posts alerts,
// admin also reloads, uses the TSDB admin API and reads configuration dumps.
package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
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

// route is one line of the role table: the role a method on a path needs.
type route struct {
	// method is GET (which also covers HEAD and OPTIONS), POST, PUT,
	// DELETE or * (any).
	method string
	// pattern is a canonical path (see RoutePath); a * segment matches one
	// segment, a trailing /** anything below (and the path itself).
	pattern string
	role    Role
	// machine marks ingestion by machines (alerts, remote write, OTLP): it
	// is bounded by body size and label limits, never by rate.
	machine bool
}

// routes is every path the two listeners serve, with the role it needs.
// The Alertmanager API is also mounted under /alertmanager/ on the web
// listener; it is judged after that prefix is removed. A path under /api/
// that is not here is denied to all but admins (who get the router's 404):
// an API that a library adds in an upgrade is not open until it is listed.
var routes = []route{
	// Lifecycle (health checks: publicReads).
	{"*", "/-/reload", RoleAdmin, false},
	{"*", "/debug/**", RoleAdmin, false},

	// The console's login form and logout (session.go); they are answered
	// before any credential check.
	{"GET", "/login", RoleNone, false},
	{"POST", "/login", RoleNone, false},
	{"POST", "/logout", RoleNone, false},

	// Prometheus HTTP API (web listener), web/api/v1 Register.
	{"GET", "/api/v1/query", RoleViewer, false},
	{"POST", "/api/v1/query", RoleViewer, false},
	{"GET", "/api/v1/query_range", RoleViewer, false},
	{"POST", "/api/v1/query_range", RoleViewer, false},
	{"GET", "/api/v1/query_exemplars", RoleViewer, false},
	{"POST", "/api/v1/query_exemplars", RoleViewer, false},
	{"GET", "/api/v1/format_query", RoleViewer, false},
	{"POST", "/api/v1/format_query", RoleViewer, false},
	{"GET", "/api/v1/parse_query", RoleViewer, false},
	{"POST", "/api/v1/parse_query", RoleViewer, false},
	{"GET", "/api/v1/labels", RoleViewer, false},
	{"POST", "/api/v1/labels", RoleViewer, false},
	{"GET", "/api/v1/label/*/values", RoleViewer, false},
	{"GET", "/api/v1/series", RoleViewer, false},
	{"POST", "/api/v1/series", RoleViewer, false},
	{"GET", "/api/v1/scrape_pools", RoleViewer, false},
	{"GET", "/api/v1/scrape_pools/config", RoleAdmin, false}, // a job's whole scrape config
	{"GET", "/api/v1/targets", RoleViewer, false},
	{"GET", "/api/v1/targets/metadata", RoleViewer, false},
	{"GET", "/api/v1/targets/relabel_steps", RoleAdmin, false}, // a job's relabel rules
	{"GET", "/api/v1/alertmanagers", RoleViewer, false},
	{"GET", "/api/v1/metadata", RoleViewer, false},
	{"GET", "/api/v1/status/config", RoleAdmin, false},
	{"GET", "/api/v1/status/flags", RoleAdmin, false}, // the command line: paths, listen addresses
	{"GET", "/api/v1/status/runtimeinfo", RoleViewer, false},
	{"GET", "/api/v1/status/buildinfo", RoleViewer, false},
	{"GET", "/api/v1/status/tsdb", RoleViewer, false},
	{"GET", "/api/v1/status/tsdb/blocks", RoleViewer, false},
	{"GET", "/api/v1/status/self_metrics", RoleViewer, false},
	{"GET", "/api/v1/status/walreplay", RoleViewer, false},
	{"GET", "/api/v1/features", RoleViewer, false},
	{"GET", "/api/v1/notifications", RoleViewer, false}, // not served (404)
	{"GET", "/api/v1/notifications/live", RoleViewer, false},
	{"GET", "/api/v1/alerts", RoleViewer, false}, // also the Alertmanager v1 alerts
	{"GET", "/api/v1/rules", RoleViewer, false},
	{"GET", "/api/v1/openapi.yaml", RoleViewer, false},
	{"POST", "/api/v1/write", RoleOperator, true},
	{"POST", "/api/v1/otlp/v1/metrics", RoleOperator, true},
	{"POST", "/api/v1/admin/tsdb/**", RoleAdmin, false},
	{"PUT", "/api/v1/admin/tsdb/**", RoleAdmin, false},

	// The appliance's API (web listener).
	{"GET", "/api/v1/appliance/status", RoleViewer, false},
	{"GET", "/api/v1/appliance/alerts", RoleViewer, false},
	{"GET", "/api/v1/appliance/acks", RoleViewer, false},
	{"POST", "/api/v1/appliance/acks", RoleOperator, false},
	{"DELETE", "/api/v1/appliance/acks/*", RoleOperator, false},
	{"GET", "/api/v1/appliance/history", RoleViewer, false},
	{"GET", "/api/v1/appliance/escalations", RoleViewer, false},
	{"GET", "/api/v1/appliance/slo", RoleViewer, false},
	{"GET", "/api/v1/appliance/review", RoleViewer, false},
	{"POST", "/api/v1/appliance/review/send", RoleAdmin, false},
	{"GET", "/api/v1/appliance/matchers", RoleViewer, false}, // what a set of matchers selects (silence preview)
	{"GET", "/api/v1/appliance/whoami", RoleViewer, false},
	{"GET", "/api/v1/appliance/audit", RoleAdmin, false},
	// Configuration deploys and versions (web/config_api.go): versions
	// carry the files, so reading them is an admin's read too. A token
	// with the config scope may deploy and roll back (tokens.go).
	{"POST", "/api/v1/appliance/config", RoleAdmin, false},
	{"GET", "/api/v1/appliance/config/versions", RoleAdmin, false},
	{"GET", "/api/v1/appliance/config/versions/*", RoleAdmin, false},
	{"POST", "/api/v1/appliance/config/versions/*/rollback", RoleAdmin, false},
	// API tokens: listed, created and revoked by admins.
	{"GET", "/api/v1/appliance/tokens", RoleAdmin, false},
	{"POST", "/api/v1/appliance/tokens", RoleAdmin, false},
	{"DELETE", "/api/v1/appliance/tokens/*", RoleAdmin, false},
	{"GET", "/api/v1/appliance/dashboards", RoleViewer, false},
	{"GET", "/api/v1/appliance/dashboards/*", RoleViewer, false},

	// Alertmanager v1: the two reads the appliance answers, and the routes
	// Alertmanager answers 410 Gone.
	{"GET", "/api/v1/status", RoleAdmin, false}, // carries the configuration
	{"GET", "/api/v1/receivers", RoleViewer, false},
	{"POST", "/api/v1/alerts", RoleOperator, true},
	{"GET", "/api/v1/silences", RoleViewer, false},
	{"POST", "/api/v1/silences", RoleOperator, false},
	{"GET", "/api/v1/silence/*", RoleViewer, false},
	{"DELETE", "/api/v1/silence/*", RoleOperator, false},

	// Alertmanager v2 (api/v2/restapi). Its experimental Connect, gRPC-Web
	// and gRPC routes are not served (web: alertmanagerAPI), so not listed.
	{"GET", "/api/v2/status", RoleAdmin, false}, // carries the configuration
	{"GET", "/api/v2/receivers", RoleViewer, false},
	{"GET", "/api/v2/alerts", RoleViewer, false},
	{"POST", "/api/v2/alerts", RoleOperator, true},
	{"GET", "/api/v2/alerts/groups", RoleViewer, false},
	{"GET", "/api/v2/silences", RoleViewer, false},
	{"POST", "/api/v2/silences", RoleOperator, false},
	{"GET", "/api/v2/silence/*", RoleViewer, false},
	{"DELETE", "/api/v2/silence/*", RoleOperator, false},

	// The link key's rotation (web/ackwebhooks.go).
	{"POST", "/api/v1/appliance/ack-links/rotate-key", RoleAdmin, false}, // revokes every one-click link

	// Acknowledging from a notification (web/acklinks.go). The link page
	// with a login: viewers see it, operators acknowledge.
	{"GET", "/ack", RoleViewer, false},
	{"POST", "/ack", RoleOperator, false},
	// Signed by the sender, no login: the handler verifies a signature
	// and answers 401/403 (or 404 while its secret or one-click links are
	// not configured) before anything changes. A one-click link carries
	// an HMAC capability for its own alerts; PagerDuty signs with the
	// webhook secret (X-PagerDuty-Signature), Slack with the app's signing
	// secret (X-Slack-Signature over the timestamp and body).
	{"GET", "/ack/link", RoleNone, false},
	{"POST", "/ack/link", RoleNone, false},
	{"POST", "/api/v1/appliance/webhooks/pagerduty", RoleNone, true},
	{"POST", "/api/v1/appliance/webhooks/slack", RoleNone, true},
}

// pattern is a route's pattern split into segments, once.
type pattern struct {
	segs    []string
	subtree bool // the pattern ended in /** (not in segs)
}

// routePatterns[i] is routes[i].pattern split.
var routePatterns = func() []pattern {
	out := make([]pattern, len(routes))
	for i, rt := range routes {
		pat, subtree := strings.CutSuffix(rt.pattern, "/**")
		out[i] = pattern{strings.Split(pat, "/"), subtree}
	}
	return out
}()

// matches reports whether routes[i] covers method on a path split into segs.
func matches(i int, method string, segs []string) bool {
	switch rt := routes[i]; rt.method {
	case "*", method:
	case http.MethodGet:
		if method != http.MethodHead && method != http.MethodOptions {
			return false
		}
	default:
		return false
	}
	ps := routePatterns[i]
	if len(segs) < len(ps.segs) || (!ps.subtree && len(segs) != len(ps.segs)) {
		return false
	}
	for j, want := range ps.segs {
		if want != segs[j] && (want != "*" || segs[j] == "") {
			return false
		}
	}
	return true
}

// publicReads are the health checks: load balancers and kubelet probes
// carry no password, and the answers say only "healthy" or which part is
// not ready yet. Exact paths on either listener, nothing below them.
var publicReads = []string{"/-/healthy", "/-/ready"}

// RoutePath is p as the routers match it, for comparisons: cleaned of dot
// segments and doubled slashes (Go's ServeMux and go-openapi clean), without
// a trailing slash (go-openapi and httprouter drop or redirect it), and in
// lower case (httprouter redirects a path in the wrong case to the right
// one). Percent-encoding is already decoded in r.URL.Path.
func RoutePath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return strings.ToLower(path.Clean(p))
}

// Decision is what a request needs to be served.
type Decision struct {
	Role Role
	// Machine is set for ingestion by machines (alerts POSTed by a
	// Prometheus or amtool, remote write, OTLP): never refused for rate.
	Machine bool
}

// Decide returns what a request needs, judged on every path a router may
// serve for it: the decoded path and the escaped one (go-openapi routes on
// the escaped path, where %2F is not a separator), both canonical
// (RoutePath). The strictest wins.
func Decide(r *http.Request) Decision {
	method := strings.ToUpper(r.Method)
	if (method == http.MethodGet || method == http.MethodHead) && slices.Contains(publicReads, r.URL.Path) {
		return Decision{Role: RoleNone}
	}
	d := decide(method, RoutePath(r.URL.Path))
	if escaped := path.Clean(r.URL.EscapedPath()); escaped != path.Clean(r.URL.Path) {
		e := Decision{Role: RoleAdmin}
		if p, err := url.PathUnescape(escaped); err == nil {
			e = decide(method, RoutePath(p))
		}
		d.Role, d.Machine = max(d.Role, e.Role), d.Machine && e.Machine
	}
	return d
}

// Required returns the role a request needs; RoleNone means anyone, even
// with authentication on.
func Required(r *http.Request) Role { return Decide(r).Role }

func decide(method, p string) Decision {
	for {
		rest, ok := strings.CutPrefix(p, "/alertmanager")
		if !ok || (rest != "" && rest[0] != '/') {
			break
		}
		p = RoutePath(rest)
	}
	segs := strings.Split(p, "/")
	for i, rt := range routes {
		if matches(i, method, segs) {
			return Decision{Role: rt.role, Machine: rt.machine}
		}
	}
	switch {
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		// Deny by default: an API route nobody listed.
		return Decision{Role: RoleAdmin}
	case method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions:
		// The console, /metrics.
		return Decision{Role: RoleViewer}
	}
	return Decision{Role: RoleAdmin}
}
