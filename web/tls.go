package web

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// tlsRecheck is how often a new connection re-reads the web config and the
// certificates: rotating them needs no restart, and a flood of connections
// does not read and parse them for each.
const tlsRecheck = time.Second

// TLSStatus is the state of the listeners' TLS configuration, for the status
// API.
type TLSStatus struct {
	Enabled bool `json:"enabled"`
	// LastReloadSuccessful is false while the web config or its certificates
	// cannot be read; the last good configuration stays in force.
	LastReloadSuccessful bool      `json:"lastReloadSuccessful"`
	LastSuccess          time.Time `json:"lastSuccess"`
	LastError            string    `json:"lastError,omitempty"`
}

// tlsWatcher serves the tls_server_config of an exporter-toolkit web config
// file. A file that becomes unreadable, invalid or TLS-less keeps the last
// good configuration (as the users stay in force in auth), logged once per
// distinct error and shown in a metric and TLSStatus, instead of failing
// every handshake with "internal error".
type tlsWatcher struct {
	path   string
	logger *slog.Logger
	ok     prometheus.Gauge

	mtx     sync.Mutex
	cfg     *tls.Config // last good, with its certificate loaded
	checked time.Time
	lastOK  time.Time
	lastErr string
	now     func() time.Time
}

// newTLSWatcher reads path once; an error here is fatal (the appliance does
// not start on a broken web config). It returns nil when the file has no
// tls_server_config (plain HTTP).
func newTLSWatcher(path string, logger *slog.Logger) (*tlsWatcher, error) {
	if path == "" {
		return nil, nil
	}
	w := &tlsWatcher{path: path, logger: logger, now: time.Now, ok: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "smm_appliance_web_tls_config_last_reload_successful",
		Help: "Whether the last read of the web config's TLS settings and certificates succeeded (0: the last good ones are in force).",
	})}
	cfg, err := w.load()
	if err != nil || cfg == nil {
		return nil, err
	}
	w.cfg, w.checked, w.lastOK = cfg, w.now(), w.now()
	w.ok.Set(1)
	return w, nil
}

// load reads the file and the certificate it names.
func (w *tlsWatcher) load() (*tls.Config, error) {
	b, err := os.ReadFile(w.path)
	if err != nil {
		return nil, fmt.Errorf("read web config %s: %w", w.path, err)
	}
	var c web.Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("parse web config %s: %w", w.path, err)
	}
	if c.TLSConfig.TLSCertPath == "" && c.TLSConfig.TLSCert == "" {
		return nil, nil
	}
	c.TLSConfig.SetDirectory(filepath.Dir(w.path))
	cfg, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("web config %s: tls_server_config: %w", w.path, err)
	}
	// Pin the certificate read now: the toolkit's GetCertificate re-reads
	// the files per handshake and would fail once they are gone.
	cert, err := cfg.GetCertificate(nil)
	if err != nil {
		return nil, fmt.Errorf("web config %s: tls_server_config: %w", w.path, err)
	}
	cfg.GetCertificate = nil
	cfg.Certificates = []tls.Certificate{*cert}
	return cfg, nil
}

// serverConfig is the tls.Config for the listeners: each handshake asks for
// the current configuration.
func (w *tlsWatcher) serverConfig() *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return w.current(), nil }}
}

// current returns the configuration in force, re-reading at most every
// tlsRecheck.
func (w *tlsWatcher) current() *tls.Config {
	w.mtx.Lock()
	defer w.mtx.Unlock()
	now := w.now()
	if now.Sub(w.checked) < tlsRecheck && now.Sub(w.checked) >= 0 {
		return w.cfg
	}
	w.checked = now
	cfg, err := w.load()
	if err == nil && cfg == nil {
		err = errors.New("tls_server_config was removed from the web config; restart to serve plain HTTP")
	}
	if err != nil {
		w.ok.Set(0)
		if msg := err.Error(); msg != w.lastErr {
			w.lastErr = msg
			w.logger.Error("web config TLS settings not read; the last good TLS configuration stays in force", "component", "web", "err", err)
		}
		return w.cfg
	}
	if w.lastErr != "" {
		w.logger.Info("web config TLS settings read again", "component", "web")
	}
	w.cfg, w.lastOK, w.lastErr = cfg, now, ""
	w.ok.Set(1)
	return cfg
}

func (w *tlsWatcher) status() TLSStatus {
	if w == nil {
		return TLSStatus{LastReloadSuccessful: true} // plain HTTP: nothing to read
	}
	w.current() // re-read if due, so a keep-alive caller sees a fresh answer
	w.mtx.Lock()
	defer w.mtx.Unlock()
	return TLSStatus{Enabled: true, LastReloadSuccessful: w.lastErr == "", LastSuccess: w.lastOK, LastError: w.lastErr}
}
