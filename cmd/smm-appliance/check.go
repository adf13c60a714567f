package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/smm-architect/smm-appliance/appliance"
	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
)

// checkConfig validates the configuration that `run` would load, with the
// same loader, and says which notification channels lack their secrets.
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
	lookup := os.LookupEnv
	if opts.Environment != "" {
		lookup = func(n string) (string, bool) {
			if n == "SMM_ENVIRONMENT" {
				return opts.Environment, true
			}
			return os.LookupEnv(n)
		}
	}
	src := configfiles.Sources{Dir: opts.ConfigDir, EmbeddedDir: embedded}
	set, err := configfiles.Loader{Sources: src, Lookup: lookup}.Load()
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %s\n", strings.ReplaceAll(err.Error(), embedded, "<embedded>"))
		return 1
	}
	show := func(p string) string { return strings.Replace(p, embedded, "<embedded>", 1) }
	fmt.Fprintf(stdout, "SUCCESS: %s is valid (%d scrape jobs)\n", show(set.PrometheusPath), len(set.Prometheus.ScrapeConfigs))
	for _, f := range set.RuleFiles {
		fmt.Fprintf(stdout, "SUCCESS: rule file %s is valid\n", show(f))
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid (%d receivers)\n", show(set.AlertmanagerPath), len(set.Alertmanager.Receivers))
	for _, ch := range set.Channels {
		state := "enabled"
		if !ch.Enabled {
			state = "DISABLED, missing " + strings.Join(ch.Missing, ", ")
		}
		fmt.Fprintf(stdout, "channel %s/%s[%d]: %s\n", ch.Receiver, ch.Integration, ch.Index, state)
	}
	return 0
}
