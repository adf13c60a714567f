// Command smm-bench runs the side-by-side benchmark of issue 9: the smm-appliance against
// Prometheus + Alertmanager on the same machine, in one invocation, driven by the
// smm-simulator in scale mode. See docs/benchmarks.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smm-architect/smm-appliance/bench"
)

func main() {
	app := kingpin.New("smm-bench", "Benchmarks the smm-appliance against Prometheus + Alertmanager (docs/benchmarks.md).")
	app.HelpFlag.Short('h')

	run := app.Command("run", "Run a benchmark profile and print the table.").Default()
	var profiles []string
	for name := range bench.Profiles {
		profiles = append(profiles, name)
	}
	sort.Strings(profiles)
	profile := run.Flag("profile", "Sizes: "+strings.Join(profiles, ", ")+".").Default("default").Enum(profiles...)
	appliance := run.Flag("appliance", "smm-appliance binary.").Default("bin/smm-appliance").String()
	applianceEnv := run.Flag("appliance.env", "KEY=VALUE added to the appliance's environment (e.g. GOGC=75), to try a tuning against the same peers; repeatable.").Strings()
	variants := run.Flag("variant", "Another build or tuning of the appliance measured beside it, as NAME=BINARY or NAME=BINARY:KEY=VALUE,KEY=VALUE "+
		"(e.g. dedupe=bin/smm-appliance-dedupelabels, gogc50=bin/smm-appliance:GOGC=50): a lever measured under the same load as the baseline; repeatable.").Strings()
	noPeers := run.Flag("no-peers", "Measure the appliance (and its --variant) only.").Bool()
	simulator := run.Flag("simulator", "smm-simulator binary.").Default("bin/smm-simulator").String()
	configs := run.Flag("configs", "Shipped configuration directory the benchmark configurations are made from.").Default("configs").String()
	peers := run.Flag("peer", "A peer as NAME=PROMETHEUS_BINARY,ALERTMANAGER_BINARY; repeatable. Without it: "+
		"same-lib (bin/peer/prometheus, bin/peer/alertmanager or Debian's) and debian (/usr/bin/prometheus, /usr/bin/prometheus-alertmanager), those present.").
		Strings()
	vmPeers := run.Flag("vm-peer", "A VictoriaMetrics peer as NAME=VICTORIA_METRICS_BINARY,VMALERT_BINARY,ALERTMANAGER_BINARY; repeatable. Without it (and without --peer): "+
		"victoria-metrics (bin/peer/victoria-metrics and bin/peer/vmalert, from make bench-vm, with the same-lib Alertmanager or Debian's), if present.").
		Strings()
	resultsDir := run.Flag("results-dir", "Where <date>.json goes.").Default("bench/results").String()
	docs := run.Flag("docs", "Markdown file whose generated section to rewrite (e.g. docs/benchmarks.md); empty: none.").String()
	workDir := run.Flag("work-dir", "Configurations, data and logs of the systems; default: a temp dir.").String()
	keep := run.Flag("keep", "Keep the work dir (logs, data) after the run.").Bool()
	stormRule := run.Flag("storm.rule", "Override the profile: alerts in the rule storm.").Int()
	stormAPI := run.Flag("storm.api", "Override the profile: alerts in the API storm, one notification each.").Int()
	stormGrouped := run.Flag("storm.api-grouped", "Override the profile: alerts in the grouped API storm.").Int()
	latencyAlerts := run.Flag("latency.alerts", "Override the profile: threshold crossings timed.").Int()
	only := run.Flag("only", "Run only scenarios whose name contains this (\"ingest 100k\", \"alerts\"); repeatable.").Strings()

	report := app.Command("report", "Print the table of a results file and optionally rewrite the docs from it.")
	reportFile := report.Arg("results", "A bench/results/*.json file.").Required().ExistingFile()
	reportDocs := report.Flag("docs", "Markdown file whose generated section to rewrite.").String()

	cmd, err := app.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "smm-bench: %v\n", err)
		os.Exit(2)
	}
	switch cmd {
	case report.FullCommand():
		r, err := bench.ReadResults(*reportFile)
		if err == nil {
			r.PrintTable(os.Stdout)
			if *reportDocs != "" {
				err = r.UpdateDocs(*reportDocs, *reportFile)
			}
		}
		exit(err)
	case run.FullCommand():
		systems := []*bench.System{{Name: "appliance", Appliance: *appliance, Env: *applianceEnv}}
		for _, v := range *variants {
			name, spec, ok := strings.Cut(v, "=")
			bin, env, _ := strings.Cut(spec, ":")
			if !ok || name == "" || bin == "" {
				exit(fmt.Errorf("--variant %q: want NAME=BINARY[:KEY=VALUE,...]", v))
			}
			s := &bench.System{Name: name, Appliance: bin, Variant: true}
			if env != "" {
				s.Env = strings.Split(env, ",")
			}
			systems = append(systems, s)
		}
		var ps []*bench.System
		if !*noPeers {
			ps, err = peerSystems(*peers, *vmPeers)
			exit(err)
		}
		systems = append(systems, ps...)
		if len(ps) == 0 && !*noPeers {
			fmt.Fprintln(os.Stderr, "smm-bench: no peer found (install Debian's prometheus and prometheus-alertmanager, or make bench-peer bench-vm); measuring the appliance alone")
		}
		for _, s := range systems {
			for _, b := range s.Binaries() {
				if _, err := os.Stat(b); err != nil {
					exit(fmt.Errorf("%s: %w", s.Name, err))
				}
			}
		}
		dir := *workDir
		if dir == "" {
			dir, err = os.MkdirTemp("", "smm-bench-")
			exit(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		prof := bench.Profiles[*profile]
		for _, o := range []struct {
			flag int
			into *int
		}{{*stormRule, &prof.StormRule}, {*stormAPI, &prof.StormAPI}, {*stormGrouped, &prof.StormAPIGrouped}, {*latencyAlerts, &prof.LatencyAlerts}} {
			if o.flag > 0 {
				*o.into = o.flag
			}
		}
		res, err := bench.Run(ctx, bench.Options{
			Profile:   prof,
			Systems:   systems,
			Simulator: *simulator,
			Configs:   *configs,
			WorkDir:   dir,
			Keep:      *keep,
			Command:   commandLine(),
			Only:      *only,
			Progress:  os.Stderr,
		})
		if res == nil {
			exit(err)
		}
		fmt.Println()
		res.PrintTable(os.Stdout)
		name := time.Now().UTC().Format("2006-01-02") + ".json"
		if *profile != "default" {
			name = time.Now().UTC().Format("2006-01-02") + "-" + *profile + ".json"
		}
		out := filepath.Join(*resultsDir, name)
		if werr := os.MkdirAll(*resultsDir, 0o755); werr == nil {
			werr = res.WriteJSON(out)
			if werr != nil {
				exit(werr)
			}
			fmt.Printf("\nresults: %s\n", out)
		}
		if *docs != "" {
			exit(res.UpdateDocs(*docs, out))
			fmt.Printf("docs: %s\n", *docs)
		}
		if *keep {
			fmt.Printf("work dir: %s\n", dir)
		}
		exit(err)
	}
}

// peerSystems parses --peer and --vm-peer flags, or finds the peers installed here.
func peerSystems(flags, vmFlags []string) ([]*bench.System, error) {
	var out []*bench.System
	for _, f := range flags {
		name, bins, ok := strings.Cut(f, "=")
		prom, am, ok2 := strings.Cut(bins, ",")
		if !ok || !ok2 || name == "" || prom == "" || am == "" {
			return nil, fmt.Errorf("--peer %q: want NAME=PROMETHEUS,ALERTMANAGER", f)
		}
		out = append(out, &bench.System{Name: name, Prometheus: prom, Alertmanager: am})
	}
	for _, f := range vmFlags {
		name, bins, ok := strings.Cut(f, "=")
		b := strings.Split(bins, ",")
		if !ok || name == "" || len(b) != 3 || b[0] == "" || b[1] == "" || b[2] == "" {
			return nil, fmt.Errorf("--vm-peer %q: want NAME=VICTORIA_METRICS,VMALERT,ALERTMANAGER", f)
		}
		out = append(out, &bench.System{Name: name, VictoriaMetrics: b[0], VMAlert: b[1], Alertmanager: b[2]})
	}
	if len(flags)+len(vmFlags) > 0 {
		return out, nil
	}
	const debProm, debAM = "/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager"
	if exists("bin/peer/prometheus") {
		s := &bench.System{Name: "same-lib", Prometheus: "bin/peer/prometheus", Alertmanager: "bin/peer/alertmanager",
			Note: "Prometheus by go install; Alertmanager built from the module source with a placeholder UI, as go install of cmd/alertmanager fails on its missing UI assets"}
		if !exists(s.Alertmanager) {
			s.Alertmanager = debAM
			s.Note = "Alertmanager from Debian: bin/peer/alertmanager not built (make bench-peer)"
		}
		if exists(s.Alertmanager) {
			out = append(out, s)
		}
	}
	if exists(debProm) && exists(debAM) {
		out = append(out, &bench.System{Name: "debian", Prometheus: debProm, Alertmanager: debAM})
	}
	// The VictoriaMetrics stack shares the best Alertmanager here: the same-library one,
	// else Debian's, so that it differs from a Prometheus peer only in what stores and
	// evaluates.
	const vm, vmalert = "bin/peer/victoria-metrics", "bin/peer/vmalert"
	if exists(vm) && exists(vmalert) {
		s := &bench.System{Name: "victoria-metrics", VictoriaMetrics: vm, VMAlert: vmalert, Alertmanager: "bin/peer/alertmanager"}
		if !exists(s.Alertmanager) {
			s.Alertmanager = debAM
		}
		// bench/build-victoriametrics.sh says how it got the binaries (go install, or
		// Debian's package when that failed).
		if b, err := os.ReadFile(vm + ".note"); err == nil {
			s.Note = strings.TrimSpace(string(b))
		}
		if exists(s.Alertmanager) {
			out = append(out, s)
		}
	}
	return out, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// commandLine is how this run was started, for the results and the docs.
func commandLine() string {
	if m := os.Getenv("SMM_BENCH_COMMAND"); m != "" {
		return m
	}
	args := append([]string{"smm-bench"}, os.Args[1:]...)
	return strings.Join(args, " ")
}

func exit(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "smm-bench: %v\n", err)
		os.Exit(1)
	}
}
