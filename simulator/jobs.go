package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Job names, as the appliance's scrape configuration calls them.
const (
	JobConnectors = "smm-connectors"
	JobAgents     = "smm-agents"
	JobBudget     = "smm-budget"
	JobSimulation = "smm-simulation"
	JobCanary     = "smm-canary"
	JobAPI        = "smm-api"
	JobPublisher  = "smm-publisher"
	JobPostgres   = "postgres"
	JobRedis      = "redis"
	JobVault      = "vault"
	JobNode       = "node"
	// JobBench is the job of the synthetic scale targets (Options.Series).
	JobBench = "smm-bench"
)

// JobNames lists the platform jobs in port order: job i listens on Options.BasePort+i.
var JobNames = []string{JobConnectors, JobAgents, JobBudget, JobSimulation, JobCanary,
	JobAPI, JobPublisher, JobPostgres, JobRedis, JobVault, JobNode}

// vaultMetricsPath is where Vault serves its telemetry; the simulator serves /metrics too.
const vaultMetricsPath = "/v1/sys/metrics"

// Job is one scrape job of the simulator.
type Job struct {
	Name string `json:"job"`
	// Addresses are host:port of the job's targets; one except for JobBench.
	Addresses []string `json:"addresses"`
	// MetricsPath is the path Prometheus should scrape.
	MetricsPath string `json:"metrics_path"`
}

// endpoint is one listener serving one target of a job.
type endpoint struct {
	job  string
	path string
	srv  *http.Server
	ln   net.Listener
}

// newEndpoint serves h on paths, answering 503 while down is set (a target-down
// scenario for the job is active).
func newEndpoint(job string, paths []string, h http.Handler, down *atomic.Bool, logger *slog.Logger) *endpoint {
	mux := http.NewServeMux()
	for _, p := range paths {
		mux.Handle("GET "+p, h)
	}
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "target down (simulated)", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return &endpoint{
		job:  job,
		path: paths[0],
		srv: &http.Server{
			Handler:           guarded,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}
}

// listen binds the endpoint to host:port (port 0 picks a free one).
func (e *endpoint) listen(host string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen for job %s: %w", e.job, err)
	}
	e.ln = ln
	return nil
}

func (e *endpoint) serve(logger *slog.Logger) {
	if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve failed", "job", e.job, "err", err)
	}
}

func (e *endpoint) shutdown(ctx context.Context) error {
	if e.ln == nil {
		return nil
	}
	if err := e.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop job %s: %w", e.job, err)
	}
	return nil
}

func (e *endpoint) addr() string {
	if e.ln == nil {
		return ""
	}
	return e.ln.Addr().String()
}

// metricsHandler serves reg in the exposition formats Prometheus negotiates.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
