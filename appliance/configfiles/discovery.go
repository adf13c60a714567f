package configfiles

// Service discovery mechanisms prometheus.yml may use, registered where the
// files are parsed so that `check config` and the running appliance accept
// the same files. An appliance on a VM needs file_sd (how installs add
// targets), dns and http; static_configs is built in. Kubernetes and cloud
// SDs are left out on purpose: they would triple the binary for sites that
// run Prometheus on Kubernetes anyway.
import (
	_ "github.com/prometheus/prometheus/discovery/dns"
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"
)
