package ruler

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/notifier"
)

// External sends alerts to Alertmanagers outside the appliance as well, for
// sites that keep a central Alertmanager (alerting.alertmanagers in
// prometheus.yml). It is Prometheus' notifier with its own discovery.
type External struct {
	notifier  *notifier.Manager
	discovery *discovery.Manager
	cancel    context.CancelFunc
}

// NewExternal builds the notifier; sdMetrics are shared with scraping.
func NewExternal(logger *slog.Logger, reg prometheus.Registerer, sdMetrics *discovery.SDMetrics) (*External, error) {
	ctx, cancel := context.WithCancel(context.Background())
	dm := discovery.NewManager(ctx, logger.With("component", "discovery notify"), reg, sdMetrics, discovery.Name("notify"))
	if dm == nil {
		cancel()
		return nil, fmt.Errorf("create notify discovery manager")
	}
	// DrainOnShutdown, Prometheus' default: alerts queued when the
	// appliance stops are still sent.
	n := notifier.NewManager(&notifier.Options{QueueCapacity: 10000, DrainOnShutdown: true, Registerer: reg}, 0, logger.With("component", "notifier"))
	return &External{notifier: n, discovery: dm, cancel: cancel}, nil
}

// Notifier is used by the forwarder and the /api/v1/alertmanagers endpoint.
func (e *External) Notifier() *notifier.Manager { return e.notifier }

// ApplyConfig sets the external Alertmanagers.
func (e *External) ApplyConfig(cfg *promconfig.Config) error {
	if err := e.notifier.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("apply notifier config: %w", err)
	}
	c := make(map[string]discovery.Configs)
	for k, v := range cfg.AlertingConfig.AlertmanagerConfigs.ToMap() {
		c[k] = v.ServiceDiscoveryConfigs
	}
	if err := e.discovery.ApplyConfig(c); err != nil {
		return fmt.Errorf("apply notify discovery config: %w", err)
	}
	return nil
}

// Configured reports whether cfg names any external Alertmanager.
func Configured(cfg *promconfig.Config) bool {
	return len(cfg.AlertingConfig.AlertmanagerConfigs) > 0
}

// RunDiscovery blocks until StopDiscovery.
func (e *External) RunDiscovery() error { return e.discovery.Run() }

// StopDiscovery stops discovering Alertmanagers.
func (e *External) StopDiscovery() { e.cancel() }

// RunNotifier blocks sending until StopNotifier, and returns once the
// queues are drained.
func (e *External) RunNotifier() { e.notifier.Run(e.discovery.SyncCh()) }

// StopNotifier asks the notifier to drain and stop; RunNotifier returns
// when it has.
func (e *External) StopNotifier() { e.notifier.Stop() }
