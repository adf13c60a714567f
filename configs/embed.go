// Package configs holds the SMM default configuration that the appliance ships
// with: prometheus.yml (scrape jobs and rule files), alertmanager.yml (routes,
// receivers, inhibitions), the SMM alert rules, the file_sd target files of the
// demo setup and the notification templates.
package configs

import "embed"

// FS holds the SMM defaults, laid out as a configuration directory:
// prometheus.yml and alertmanager.yml at the root, rules/*.yml, targets/*.yml,
// templates/*.tmpl and dashboards/*.yml beside them. A file of the same name in --config.dir
// overrides the embedded one.
//
// The rule unit tests (rules/tests/) are not embedded: they are development
// artefacts run by promtool and by this package's tests, not configuration.
//
//go:embed prometheus.yml alertmanager.yml appliance.yml rules/*.yml dashboards/*.yml targets/*.yml templates/*.tmpl
var FS embed.FS
