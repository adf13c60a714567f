// Package web serves the appliance's HTTP interfaces: the Prometheus HTTP API
// on the web listener, the Alertmanager API on its own listener (and mounted
// under /alertmanager/ on the web listener), lifecycle endpoints on both, and
// the appliance's own API.
package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/route"
	"github.com/prometheus/common/version"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/features"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/smm-architect/smm-appliance/web/auth"
	"github.com/smm-architect/smm-appliance/web/ui"
)

// Options wire the web layer to the running parts.
type Options struct {
	ExternalURL *url.URL
	Flags       map[string]string

	Engine *promql.Engine
	// Storage is local storage; it may still be opening (the appliance
	// passes a wrapper that answers tsdb.ErrNotReady until the WAL is
	// replayed), so that the API is built while the TSDB replays.
	Storage Storage
	// StorageDir is the TSDB directory (snapshots go under it).
	StorageDir string
	// Appendable receives pushed samples (local storage and remote write).
	Appendable          promstorage.AppendableV2
	RemoteWriteReceiver bool
	OTLPReceiver        bool
	Scrape              *promscrape.Manager
	Rules               *rules.Manager
	Notifier            *notifier.Manager
	Alertmanager        http.Handler // the embedded Alertmanager's API, served at "/"

	Config   func() promconfig.Config
	Gatherer prometheus.Gatherer
	Reg      prometheus.Registerer

	// Ready returns the names of the parts that are not ready yet.
	Ready func() []string
	// Reload runs the appliance's single reload path; by names who asked.
	Reload func(by string) error
	// LastReload reports the outcome of the last reload.
	LastReload func() (ok bool, at time.Time)
	// Appliance serves /api/v1/appliance/ (status of channels and the like).
	Appliance http.Handler
	// Auth authenticates and authorises every request on both listeners.
	Auth *auth.Authorizer
	// AckPages serves /ack and /ack/link, the pages the links in messages
	// open, and the ack webhooks (AckLinks.Pages).
	AckPages http.Handler
}

// Storage is what the Prometheus API reads from local storage.
type Storage interface {
	promstorage.SampleAndChunkQueryable
	promstorage.ExemplarQueryable
	apiv1.TSDBAdminStats
}

// Server owns the listeners. It serves from Start, before the rest of the
// appliance runs: /-/healthy answers and everything else says the appliance
// is starting, so a liveness probe does not kill a process that is only
// replaying its WAL. Activate builds the full APIs (while the TSDB still
// replays: they answer 503 until the appliance is ready) and Run swaps them
// in.
type Server struct {
	opts      Options
	logger    *slog.Logger
	promLn    net.Listener
	amLn      net.Listener
	selfLn    net.Listener
	webConfig string
	maxConns  int
	tls       *tlsWatcher  // nil: plain HTTP
	public    *connLimiter // both public listeners
	self      *connLimiter
	handlers  [3]atomic.Pointer[http.Handler] // served per listener: prom, am, self
	active    [3]http.Handler                 // the APIs, served from Run
	servers   []*http.Server
	errc      chan error
	birth     time.Time
	closeOnce sync.Once
}

// NewServer takes listeners the caller bound, so that their real ports are
// known at once (tests listen on 127.0.0.1:0). selfLn, on loopback, serves
// only /metrics, without TLS or authentication, for the appliance's scrape
// of itself. webConfigFile holds the TLS settings (users are Auth's).
// maxConns caps the connections open across the two public listeners
// (--web.max-connections).
func NewServer(promLn, amLn, selfLn net.Listener, webConfigFile string, maxConns int, logger *slog.Logger) *Server {
	return &Server{logger: logger, promLn: promLn, amLn: amLn, selfLn: selfLn, webConfig: webConfigFile, maxConns: maxConns, birth: time.Now()}
}

// TLSStatus is the state of the listeners' TLS configuration.
func (s *Server) TLSStatus() TLSStatus { return s.tls.status() }

// Addr is the bound address of the Prometheus API listener.
func (s *Server) Addr() net.Addr { return s.promLn.Addr() }

// AlertmanagerAddr is the bound address of the Alertmanager API listener.
func (s *Server) AlertmanagerAddr() net.Addr { return s.amLn.Addr() }

// starting answers while the appliance starts: healthy, not ready, nothing
// else. It reveals nothing, so it needs no authentication.
func starting(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/-/healthy":
		fmt.Fprintln(w, "SMM Appliance is Healthy.")
	default:
		http.Error(w, "Service Unavailable: the appliance is starting (opening storage, replaying the WAL)", http.StatusServiceUnavailable)
	}
}

// Start serves the listeners with the start-up handler.
func (s *Server) Start() error {
	w, err := newTLSWatcher(s.webConfig, s.logger)
	if err != nil {
		return err
	}
	s.tls = w
	var tlsCfg *tls.Config
	if w != nil {
		tlsCfg = w.serverConfig()
	}
	maxConns := s.maxConns
	if maxConns <= 0 {
		maxConns = 512
	}
	s.public = newConnLimiter(checkFileLimit(maxConns, s.logger), "public")
	s.self = newConnLimiter(selfMaxConns, "self")
	startingH := http.Handler(http.HandlerFunc(starting))
	servers := []struct {
		ln  net.Listener
		tls *tls.Config
		lim *connLimiter
	}{{s.promLn, tlsCfg, s.public}, {s.amLn, tlsCfg, s.public}, {s.selfLn, nil, s.self}}
	s.errc = make(chan error, len(servers))
	for i, p := range servers {
		s.handlers[i].Store(&startingH)
		h := &s.handlers[i]
		srv := &http.Server{
			Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }),
			ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, IdleTimeout: idleTimeout,
			TLSConfig: p.tls, ConnState: p.lim.setState,
			ErrorLog: log.New(serverErrorLog{s.logger.With("component", "web")}, "", 0),
		}
		s.servers = append(s.servers, srv)
		ln := p.lim.listener(p.ln)
		go func() {
			var err error
			if p.tls != nil {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errc <- fmt.Errorf("serve %s: %w", p.ln.Addr(), err)
				return
			}
			s.errc <- nil
		}()
	}
	return nil
}

// serverErrorLog takes net/http's error lines: a TLS handshake a scanner
// breaks off is debug noise, one line per connection; the rest (accept
// errors) are warnings.
type serverErrorLog struct{ logger *slog.Logger }

func (w serverErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	w.logger.Log(context.Background(), level, msg)
	return len(p), nil
}

// Activate builds the APIs on the parts of the appliance; Run serves them.
func (s *Server) Activate(o Options) error {
	s.opts = o
	promMux, err := s.prometheusMux()
	if err != nil {
		return err
	}
	amMux := s.alertmanagerMux()
	var promH, amH http.Handler = upperMethod(promMux), upperMethod(amMux)
	if o.Auth != nil {
		promH, amH = o.Auth.Wrap(promH), o.Auth.Wrap(amH)
	}
	selfMux := http.NewServeMux()
	selfMux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	s.active = [3]http.Handler{promH, amH, selfMux}
	if o.Reg != nil && s.public != nil { // nil before Start
		o.Reg.MustRegister(append(s.public.collectors(), s.self.collectors()...)...)
		if s.tls != nil {
			o.Reg.MustRegister(s.tls.ok)
		}
	}
	return nil
}

// Run serves the APIs until Shutdown or until one listener fails, and
// returns that listener's error: one dead listener stops the appliance
// (the others are shut down by the caller's interrupt), rather than leaving
// a process that looks alive on one port and is deaf on another.
func (s *Server) Run() error {
	if s.errc == nil || s.active[0] == nil {
		return errors.New("web server not started and activated")
	}
	for i := range s.active {
		s.handlers[i].Store(&s.active[i])
	}
	return <-s.errc
}

// Shutdown stops accepting requests and waits for running ones.
func (s *Server) Shutdown(ctx context.Context) {
	s.closeOnce.Do(func() {
		if len(s.servers) == 0 {
			s.promLn.Close()
			s.amLn.Close()
			s.selfLn.Close()
		}
		for _, srv := range s.servers {
			_ = srv.Shutdown(ctx)
		}
	})
}

func (s *Server) lifecycle(mux *http.ServeMux) {
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "SMM Appliance is Healthy.")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if notReady := s.opts.Ready(); len(notReady) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "SMM Appliance is not ready: waiting for %v.\n", notReady)
			return
		}
		fmt.Fprintln(w, "SMM Appliance is Ready.")
	})
	reload := func(w http.ResponseWriter, r *http.Request) {
		by := auth.FromContext(r.Context()).User
		if by == "" {
			by = "api"
		}
		if err := s.opts.Reload(by); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	}
	mux.HandleFunc("POST /-/reload", reload)
	mux.HandleFunc("PUT /-/reload", reload)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{}))
	debugPprof(mux)
}

func (s *Server) readyWrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if notReady := s.opts.Ready(); len(notReady) > 0 {
			http.Error(w, fmt.Sprintf("Service Unavailable: waiting for %v", notReady), http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	}
}

func (s *Server) prometheusMux() (*http.ServeMux, error) {
	o := s.opts
	var notifierRetriever apiv1.AlertmanagerRetriever = noAlertmanagers{}
	if o.Notifier != nil {
		notifierRetriever = o.Notifier
	}
	api := apiv1.NewAPI(
		o.Engine, o.Storage, o.Appendable, o.Storage,
		func(context.Context) apiv1.ScrapePoolsRetriever { return o.Scrape },
		func(context.Context) apiv1.TargetRetriever { return o.Scrape },
		func(context.Context) apiv1.AlertmanagerRetriever { return notifierRetriever },
		o.Config,
		o.Flags,
		apiv1.GlobalURLOptions{ListenAddress: s.promLn.Addr().String(), Host: o.ExternalURL.Host, Scheme: o.ExternalURL.Scheme},
		s.readyWrap,
		o.Storage,
		o.StorageDir,
		true,  // admin APIs (snapshot, delete series); admin role only (auth)
		false, // search API
		0,
		s.logger.With("component", "api"),
		func(context.Context) apiv1.RulesRetriever { return o.Rules },
		5e7, 10, 1048576, // remote read limits, Prometheus' defaults
		false,
		nil,
		s.runtimeInfo,
		&apiv1.PrometheusVersion{
			Version: version.Version, Revision: version.Revision, Branch: version.Branch,
			BuildUser: version.BuildUser, BuildDate: version.BuildDate, GoVersion: version.GoVersion,
		},
		nil, nil,
		o.Gatherer, o.Reg,
		nil,
		o.RemoteWriteReceiver, remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType},
		o.OTLPReceiver, false, false,
		5*time.Minute,
		false, false,
		nil,
		features.DefaultRegistry, // what the Prometheus libraries register; /api/v1/features
		apiv1.OpenAPIOptions{ExternalURL: o.ExternalURL.String(), Version: version.Version},
		parser.NewParser(parser.Options{}),
		false,
		2*time.Minute,
	)
	r := route.New()
	api.Register(r.WithPrefix("/api/v1"))

	mux := http.NewServeMux()
	s.lifecycle(mux)
	// Push receivers get a body limit (the API handlers have none); the
	// notifications routes, not wired, answer 404.
	mux.Handle("/api/v1/", unserved(limitPushBodies(r)))
	if o.Appliance != nil {
		mux.Handle("/api/v1/appliance/", o.Appliance)
	}
	// The Alertmanager API is also reachable through the web listener, for
	// setups that expose a single port.
	amMux := http.NewServeMux()
	alertmanagerV1{v2: o.Alertmanager}.register(amMux, "")
	amMux.Handle("/", alertmanagerAPI(o.Alertmanager))
	mux.Handle("/alertmanager/", http.StripPrefix("/alertmanager", amMux))
	if o.AckPages != nil {
		for _, p := range []string{"/ack", "/ack/", "/api/v1/appliance/webhooks/", "/api/v1/appliance/ack-links/"} {
			mux.Handle(p, o.AckPages)
		}
	}
	// The operator console, served from the binary.
	mux.Handle("/", ui.Handler())
	return mux, nil
}

func (s *Server) alertmanagerMux() *http.ServeMux {
	mux := http.NewServeMux()
	s.lifecycle(mux)
	alertmanagerV1{v2: s.opts.Alertmanager}.register(mux, "")
	mux.Handle("/", alertmanagerAPI(s.opts.Alertmanager))
	return mux
}

func (s *Server) runtimeInfo() (apiv1.RuntimeInfo, error) {
	info := apiv1.RuntimeInfo{
		StartTime:      s.birth,
		GoroutineCount: runtime.NumGoroutine(),
		GOMAXPROCS:     runtime.GOMAXPROCS(0),
		GOMEMLIMIT:     debug.SetMemoryLimit(-1),
		GOGC:           os.Getenv("GOGC"),
		GODEBUG:        os.Getenv("GODEBUG"),
		ServerTime:     time.Now().UTC(),
	}
	info.CWD, _ = os.Getwd()
	info.Hostname, _ = os.Hostname()
	if s.opts.LastReload != nil {
		info.ReloadConfigSuccess, info.LastConfigTime = s.opts.LastReload()
	}
	return info, nil
}

type noAlertmanagers struct{}

func (noAlertmanagers) Alertmanagers() []*url.URL        { return nil }
func (noAlertmanagers) DroppedAlertmanagers() []*url.URL { return nil }

// maxPushBody bounds one remote write or OTLP request (compressed). It is
// below the OTLP handler's own 32 MiB read limit, so an oversized request is
// refused here, with 413, before anything decodes a truncated body.
const maxPushBody = 16 << 20

func limitPushBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := auth.RoutePath(r.URL.Path); r.Method == http.MethodPost && (p == "/api/v1/write" || strings.HasPrefix(p, "/api/v1/otlp/")) {
			body, err := readBody(w, r, maxPushBody)
			if err != nil {
				http.Error(w, err.Error(), statusOf(err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// Body limits for the Alertmanager API's writes: large enough for an alert
// storm posted in batches, small enough that one request cannot exhaust
// memory.
const (
	maxAlertsBody  = 16 << 20
	maxSilenceBody = 1 << 20
	maxOtherBody   = 1 << 20
)

// limitAlertmanagerBodies bounds and checks what is written to the
// Alertmanager API. It compares the path the Alertmanager's router serves
// (go-openapi cleans it and drops a trailing slash), so /api/v2/alerts/
// gets the alert limits too.
func limitAlertmanagerBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Body != nil {
			p := auth.RoutePath(r.URL.Path)
			limit := int64(maxOtherBody)
			if p == "/api/v2/alerts" {
				limit = maxAlertsBody
			} else if p == "/api/v2/silences" {
				limit = maxSilenceBody
			}
			body, err := readBody(w, r, limit)
			if err == nil {
				err = checkJSONText(body)
			}
			if err == nil && r.Method == http.MethodPost && p == "/api/v2/alerts" {
				err = checkAlertSizes(body)
			}
			if err != nil {
				http.Error(w, err.Error(), statusOf(err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// alertmanagerAPI serves the embedded Alertmanager's v2 API (and its v1
// "gone" answers) and nothing else of it: Alertmanager 0.35 also serves an
// experimental ConnectRPC API under /api/ (Connect, gRPC-Web, gRPC health
// and reflection) and native gRPC at the root, which bypass the v2 API's
// routes and return the configuration. Those answer 404 here, whatever the
// role; the role table does not list them either.
func alertmanagerAPI(am http.Handler) http.Handler {
	guarded := limitAlertmanagerBodies(am)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.RoutePath(r.URL.Path)
		ct := strings.ToLower(r.Header.Get("Content-Type"))
		if strings.HasPrefix(ct, "application/grpc") || strings.HasPrefix(ct, "application/connect") ||
			!(strings.HasPrefix(p, "/api/v2/") || strings.HasPrefix(p, "/api/v1/")) {
			http.NotFound(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// upperMethod passes the method on in upper case, so that every check and
// router sees the one go-openapi serves (a "post" would otherwise miss Go's
// ServeMux patterns and the body checks, and still be served as a POST).
// The authorizer does the same; this covers a server without one.
func upperMethod(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := strings.ToUpper(r.Method); m != r.Method {
			r = r.WithContext(r.Context())
			r.Method = m
		}
		next.ServeHTTP(w, r)
	})
}

// unserved answers 404 on the Prometheus API routes the appliance does not
// wire: the notifications API (nil getters in the upstream handler panic),
// as a Prometheus without them would answer.
func unserved(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch auth.RoutePath(r.URL.Path) {
		case "/api/v1/notifications", "/api/v1/notifications/live":
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Limits on posted alerts, so one client cannot bloat every notification,
// template and the alert store with an outsized alert.
const (
	maxAlertLabels      = 128
	maxAlertLabelBytes  = 16 << 10
	maxAlertAnnotations = 64 << 10
)

func checkAlertSizes(body []byte) error {
	var alerts []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(body, &alerts); err != nil {
		return fmt.Errorf("invalid alerts: %w", err)
	}
	for i, a := range alerts {
		if len(a.Labels) > maxAlertLabels {
			return fmt.Errorf("alert %d: %d labels, at most %d allowed", i, len(a.Labels), maxAlertLabels)
		}
		n := 0
		for k, v := range a.Labels {
			n += len(k) + len(v)
		}
		if n > maxAlertLabelBytes {
			return fmt.Errorf("alert %d: labels take %d bytes, at most %d allowed", i, n, maxAlertLabelBytes)
		}
		n = 0
		for k, v := range a.Annotations {
			n += len(k) + len(v)
		}
		if n > maxAlertAnnotations {
			return fmt.Errorf("alert %d: annotations take %d bytes, at most %d allowed", i, n, maxAlertAnnotations)
		}
	}
	return nil
}
