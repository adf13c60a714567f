package web

import (
	"net/http"
	"net/http/pprof"
)

// debugPprof serves Go's runtime profiles under /debug/pprof/ on both
// listeners, as Prometheus and Alertmanager do, so that `go tool pprof
// http://host:9090/debug/pprof/profile` works against the appliance as
// against them. Unlike theirs it is admin-only (web/auth/roles.go: the
// command line and heap name files and secrets' sizes, and a CPU profile
// costs CPU). Importing net/http/pprof also registers the handlers on
// http.DefaultServeMux; no listener of the appliance serves that mux.
func debugPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
