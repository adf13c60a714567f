package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	toolkitweb "github.com/prometheus/exporter-toolkit/web"

	"github.com/smm-architect/smm-appliance/alerting/routes"
	"github.com/smm-architect/smm-appliance/appliance"
	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
)

// checkConfig validates the configuration that `run` would load, with the
// same loader, environment lookup and web config, and says which
// notification channels lack their secrets.
func checkConfig(opts appliance.Options, stdout, stderr io.Writer) int {
	tmp, err := os.MkdirTemp("", "smm-appliance-check")
	if err != nil {
		fmt.Fprintf(stderr, "check config: %s\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	embedded := filepath.Join(tmp, "embedded")
	if err := configfiles.Materialize(configs.FS, embedded); err != nil {
		fmt.Fprintf(stderr, "check config: %s\n", err)
		return 1
	}
	src := configfiles.Sources{Dir: opts.ConfigDir, EmbeddedDir: embedded}
	// The same lookup and web config as `run`: what passes here starts.
	set, err := configfiles.Loader{Sources: src, Lookup: appliance.LookupEnv(opts.Environment), WebConfigFile: opts.WebConfigFile}.Load()
	if err == nil {
		err = appliance.CheckSet(set)
	}
	if err == nil && opts.WebConfigFile != "" {
		// TLS settings (certificate and key readable and matching); the
		// loader checks the users.
		if verr := toolkitweb.Validate(opts.WebConfigFile); verr != nil {
			err = fmt.Errorf("web config %s: %w", opts.WebConfigFile, verr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %s\n", strings.ReplaceAll(err.Error(), embedded, "<embedded>"))
		return 1
	}
	show := func(p string) string { return strings.Replace(p, embedded, "<embedded>", 1) }
	if opts.WebConfigFile != "" {
		fmt.Fprintf(stdout, "SUCCESS: web config %s is valid\n", opts.WebConfigFile)
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid (%d scrape jobs)\n", show(set.PrometheusPath), len(set.Prometheus.ScrapeConfigs))
	for _, f := range set.RuleFiles {
		fmt.Fprintf(stdout, "SUCCESS: rule file %s is valid\n", show(f))
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid (%d receivers)\n", show(set.AlertmanagerPath), len(set.Alertmanager.Receivers))
	for _, d := range set.Dashboards {
		fmt.Fprintf(stdout, "SUCCESS: dashboard %s is valid (%s, %d panels, %d alerts link to it)\n", show(d.File), d.UID, len(d.Panels), len(d.Alerts))
	}
	writeTeamWarnings(stdout, set, show)
	for _, msg := range set.DashboardWarnings {
		fmt.Fprintf(stdout, "WARNING: %s\n", show(msg))
	}
	for _, f := range set.Files {
		fmt.Fprintf(stdout, "file %s: %s (%s)\n", f.Name, f.Origin, show(f.Path))
	}
	for _, g := range set.DisabledGroups {
		fmt.Fprintf(stdout, "rule group %s: switched off\n", g)
	}
	disabled, replaced := 0, 0
	for _, ch := range set.Channels {
		state := "enabled"
		switch {
		case ch.ReplacedBy != "":
			state = "not used, " + ch.ReplacedBy + " posts to its channel instead"
			replaced++
		case !ch.Enabled:
			state = "DISABLED, missing " + strings.Join(ch.Missing, ", ")
			disabled++
		}
		fmt.Fprintf(stdout, "channel %s/%s[%d]: %s\n", ch.Receiver, ch.Integration, ch.Index, state)
	}
	summary := fmt.Sprintf("%d of %d notification channels enabled, %d disabled for missing secrets", len(set.Channels)-disabled-replaced, len(set.Channels), disabled)
	if replaced > 0 {
		summary += fmt.Sprintf(", %d not used (an alternative posts)", replaced)
	}
	fmt.Fprintln(stdout, summary)
	return 0
}

// writeTeamWarnings warns about alerting rules whose team no route knows:
// they reach only the catch-all receiver (platform).
func writeTeamWarnings(w io.Writer, set *configfiles.Set, show func(string) string) {
	warnings, err := routes.UnknownTeams(set.Alertmanager.Route, set.RuleFiles)
	if err != nil {
		fmt.Fprintf(w, "WARNING: team check: %s\n", show(err.Error()))
	}
	for _, msg := range warnings {
		fmt.Fprintf(w, "WARNING: %s\n", show(msg))
	}
}
