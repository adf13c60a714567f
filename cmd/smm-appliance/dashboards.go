package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smm-architect/smm-appliance/appliance"
	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// dashboardsExport is `smm-appliance dashboards export --grafana DIR`: the
// dashboards in force (--config.dir over the embedded ones) as Grafana
// dashboard JSON plus the provisioning files of a site that runs Grafana.
type dashboardsExport struct {
	cmd     *kingpin.CmdClause
	dir     string
	jsonDir string
	url     string
}

func registerDashboards(app *kingpin.Application) *dashboardsExport {
	d := &dashboardsExport{}
	cmd := app.Command("dashboards", "Work with the console's dashboards (dashboards/*.yml).")
	d.cmd = cmd.Command("export", "Write the dashboards as Grafana dashboard JSON (DIR/dashboards/<uid>.json) and Grafana provisioning files (DIR/provisioning/): a dashboards provider and a Prometheus data source pointed at the appliance.")
	d.cmd.Flag("grafana", "Directory to write into; created if missing.").Required().StringVar(&d.dir)
	d.cmd.Flag("grafana.dashboards-path", "Where Grafana will read the JSON files, for the dashboards provider. Default: DIR/dashboards, absolute.").StringVar(&d.jsonDir)
	d.cmd.Flag("grafana.datasource-url", "The appliance's URL for the data source. Default: --web.external-url, else http://localhost:9090.").StringVar(&d.url)
	return d
}

func (d *dashboardsExport) run(opts appliance.Options, stdout, stderr io.Writer) int {
	set, cleanup, err := loadConfig(opts.ConfigDir, appliance.LookupEnv(opts.Environment))
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "dashboards export: %s\n", err)
		return 1
	}
	jsonDir := d.jsonDir
	if jsonDir == "" {
		abs, err := filepath.Abs(filepath.Join(d.dir, "dashboards"))
		if err != nil {
			fmt.Fprintf(stderr, "dashboards export: %s\n", err)
			return 1
		}
		jsonDir = abs
	}
	url := d.url
	if url == "" {
		url = opts.ExternalURL
	}
	if url == "" {
		url = "http://localhost:9090"
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "dashboards export: %s\n", err)
		return 1
	}
	if err := dashboards.Export(set.Dashboards, d.dir, jsonDir, url); err != nil {
		fmt.Fprintf(stderr, "dashboards export: %s\n", err)
		return 1
	}
	for _, db := range set.Dashboards {
		fmt.Fprintf(stdout, "%s\n", filepath.Join(d.dir, "dashboards", db.UID+".json"))
	}
	fmt.Fprintf(stdout, "%s\n%s\n", filepath.Join(d.dir, "provisioning", "dashboards", "smm-appliance.yml"), filepath.Join(d.dir, "provisioning", "datasources", "smm-appliance.yml"))
	return 0
}
