package configfiles

// Service discovery mechanisms prometheus.yml may use. Registering them here
// (and not only where scraping runs) lets `check config` parse every file the
// running appliance accepts. See scrape/scrape.go for why these three.
import (
	_ "github.com/prometheus/prometheus/discovery/dns"
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"
)
