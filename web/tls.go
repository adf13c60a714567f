package web

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// tlsConfig reads the tls_server_config of an exporter-toolkit web config
// file. It returns nil when the file has none (plain HTTP). Certificates are
// re-read for every new connection, so rotating them needs no restart.
func tlsConfig(path string) (*tls.Config, error) {
	if path == "" {
		return nil, nil
	}
	load := func() (*tls.Config, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read web config %s: %w", path, err)
		}
		var c web.Config
		if err := yaml.UnmarshalStrict(b, &c); err != nil {
			return nil, fmt.Errorf("parse web config %s: %w", path, err)
		}
		if c.TLSConfig.TLSCertPath == "" && c.TLSConfig.TLSCert == "" {
			return nil, nil
		}
		c.TLSConfig.SetDirectory(filepath.Dir(path))
		cfg, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("web config %s: tls_server_config: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil || cfg == nil {
		return cfg, err
	}
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := load()
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, errors.New("TLS was removed from the web config; restart to serve plain HTTP")
		}
		return c, nil
	}
	return cfg, nil
}
