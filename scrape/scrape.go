// Package scrape runs target discovery and scraping: Prometheus' discovery
// manager feeding its scrape manager, which appends to local storage.
package scrape

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	promscrape "github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
)

// The service discovery mechanisms are registered where configurations are
// parsed (appliance/configfiles/discovery.go): a config this package is
// given has been through there.

// Scraper owns the discovery and scrape managers.
type Scraper struct {
	logger    *slog.Logger
	discovery *discovery.Manager
	manager   *promscrape.Manager
	cancel    context.CancelFunc
}

// New builds the managers; Run starts them.
// sdMetrics come from discovery.CreateAndRegisterSDMetrics, once per process.
func New(app storage.AppendableV2, sdMetrics *discovery.SDMetrics, logger *slog.Logger, reg prometheus.Registerer) (*Scraper, error) {
	ctx, cancel := context.WithCancel(context.Background())
	dm := discovery.NewManager(ctx, logger.With("component", "discovery"), reg, sdMetrics, discovery.Name("scrape"))
	if dm == nil {
		cancel()
		return nil, fmt.Errorf("create discovery manager")
	}
	sm, err := promscrape.NewManager(&promscrape.Options{}, logger.With("component", "scrape"), nil, nil, app, reg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create scrape manager: %w", err)
	}
	return &Scraper{logger: logger, discovery: dm, manager: sm, cancel: cancel}, nil
}

// Manager exposes the scrape manager to the targets API.
func (s *Scraper) Manager() *promscrape.Manager { return s.manager }

// ApplyConfig hands the scrape configs to the scrape manager first and then
// to discovery, as Prometheus does: the scrape manager must know a job's
// config before discovery sends it that job's targets.
func (s *Scraper) ApplyConfig(cfg *promconfig.Config) error {
	if err := s.manager.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("apply scrape config: %w", err)
	}
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return fmt.Errorf("apply scrape config: %w", err)
	}
	c := make(map[string]discovery.Configs, len(scfgs))
	for _, sc := range scfgs {
		c[sc.JobName] = sc.ServiceDiscoveryConfigs
	}
	if err := s.discovery.ApplyConfig(c); err != nil {
		return fmt.Errorf("apply discovery config: %w", err)
	}
	return nil
}

// RunDiscovery blocks until StopDiscovery.
func (s *Scraper) RunDiscovery() error { return s.discovery.Run() }

// StopDiscovery stops target discovery.
func (s *Scraper) StopDiscovery() { s.cancel() }

// RunScrape blocks scraping until StopScrape. It must start only after the
// first ApplyConfig.
func (s *Scraper) RunScrape() error { return s.manager.Run(s.discovery.SyncCh()) }

// StopScrape stops all scrape loops; call it before closing storage.
func (s *Scraper) StopScrape() { s.manager.Stop() }
