// Command smm-simulator plays the SMM Architect platform: it serves every metric the
// appliance's alerts read, one Prometheus job per port, and injects named faults
// (scenarios) on request so the preloaded alerts fire and resolve.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"

	"github.com/smm-architect/smm-appliance/simulator"
)

func main() {
	opts := simulator.DefaultOptions()
	logCfg := &promslog.Config{}
	app := newApp(&opts, logCfg)
	if _, err := app.Parse(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "smm-simulator: %v\n", err)
		os.Exit(2)
	}
	if err := run(opts, logCfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "smm-simulator: %v\n", err)
		os.Exit(1)
	}
}

// newApp defines the command line; parsing fills opts and logCfg.
func newApp(opts *simulator.Options, logCfg *promslog.Config) *kingpin.Application {
	app := kingpin.New("smm-simulator", "Simulates the SMM Architect platform's metrics for the smm-appliance.")
	app.HelpFlag.Short('h')

	app.Flag("listen.host", "Host the job endpoints listen on.").
		Default(opts.Host).StringVar(&opts.Host)
	app.Flag("listen.base-port", "Port of the first job; the jobs follow in the order "+
		strings.Join(simulator.JobNames, ", ")+", then the --series targets. 0 picks free ports (see GET /jobs).").
		Default(fmt.Sprint(opts.BasePort)).IntVar(&opts.BasePort)
	app.Flag("control.listen-address", "Listen address of the control API (/jobs, /scenarios, /scenario/<name>). Empty disables it.").
		Default(opts.ControlAddress).StringVar(&opts.ControlAddress)
	app.Flag("tick", "Interval between metric updates.").
		Default(opts.Tick.String()).DurationVar(&opts.Tick)
	app.Flag("seed", "Seed of the noise; 0 seeds from the clock.").
		Default("0").Uint64Var(&opts.Seed)

	app.Flag("connectors", "Number of connectors (linkedin, twitter, facebook, instagram, tiktok, youtube, ... then connector-N).").
		Default(fmt.Sprint(opts.Fleet.Connectors)).IntVar(&opts.Fleet.Connectors)
	app.Flag("agents", "Number of AI agents.").
		Default(fmt.Sprint(opts.Fleet.Agents)).IntVar(&opts.Fleet.Agents)
	app.Flag("workspaces", "Number of workspaces; about 90 % are active, so keep it above 112 for a healthy smm_active_workspaces.").
		Default(fmt.Sprint(opts.Fleet.Workspaces)).IntVar(&opts.Fleet.Workspaces)
	app.Flag("campaigns", "Campaigns per workspace, each with a budget.").
		Default(fmt.Sprint(opts.Fleet.Campaigns)).IntVar(&opts.Fleet.Campaigns)
	app.Flag("users", "Number of API users.").
		Default(fmt.Sprint(opts.Fleet.Users)).IntVar(&opts.Fleet.Users)

	app.Flag("scenario", "Scenarios to activate at start, comma-separated or repeated.").
		PlaceHolder("NAME,...").StringsVar(&opts.Scenarios)
	app.Flag("demo", "Rotate through demo scenarios so alerts fire and resolve on their own.").
		BoolVar(&opts.Demo.Enabled)
	app.Flag("demo.interval", "Time between the starts of two demo scenarios.").
		Default(opts.Demo.Interval.String()).DurationVar(&opts.Demo.Interval)
	app.Flag("demo.active", "How long each demo scenario stays active.").
		Default(opts.Demo.Active.String()).DurationVar(&opts.Demo.Active)
	// Repeatable flags append to their slice, so the default goes through Default.
	demoDefault := strings.Join(opts.Demo.Scenarios, ",")
	opts.Demo.Scenarios, opts.Scenarios = nil, nil
	app.Flag("demo.scenarios", "Demo rotation, comma-separated.").
		Default(demoDefault).StringsVar(&opts.Demo.Scenarios)

	app.Flag("series", "Extra synthetic series (smm_bench_series_value) for scale benchmarks.").
		Default("0").IntVar(&opts.Series)
	app.Flag("series.targets", "Number of targets (ports, job smm-bench) the --series are spread over.").
		Default(fmt.Sprint(opts.SeriesTargets)).IntVar(&opts.SeriesTargets)

	app.Flag("backfill.tsdb-path", "Before the live run, write --backfill.duration of history into this TSDB directory (the appliance's <storage.path>/tsdb, before it starts). Skipped if it already holds data.").
		PlaceHolder("DIR").StringVar(&opts.Backfill.Dir)
	app.Flag("backfill.duration", "How much history to backfill.").
		Default("24h").DurationVar(&opts.Backfill.Duration)
	app.Flag("backfill.step", "Interval between backfilled samples.").
		Default("1m").DurationVar(&opts.Backfill.Step)

	flag.AddFlags(app, logCfg)
	app.Action(func(*kingpin.ParseContext) error {
		opts.Scenarios = splitList(opts.Scenarios)
		opts.Demo.Scenarios = splitList(opts.Demo.Scenarios)
		return opts.Validate()
	})
	return app
}

// splitList flattens repeated and comma-separated flag values.
func splitList(in []string) []string {
	var out []string
	for _, v := range in {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func run(opts simulator.Options, logCfg *promslog.Config, out io.Writer) error {
	logger := promslog.New(logCfg).With("component", "simulator")
	backfill := prepareBackfill(&opts, logger)
	sim, err := simulator.New(opts, logger)
	if err != nil {
		return err
	}
	if backfill {
		// The ports first: the backfill names them in the instance label,
		// and one taken while it runs would fail only afterwards.
		if err := sim.Listen(); err != nil {
			return err
		}
		if err := runBackfill(sim, opts.Backfill, logger); err != nil {
			_ = sim.Stop()
			return err
		}
	}
	if err := sim.Start(); err != nil {
		return err
	}
	printBanner(out, sim)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("shutting down")
	return sim.Stop()
}

// printBanner shows where every job listens and which scenarios exist.
func printBanner(out io.Writer, sim *simulator.Simulator) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tADDRESS\tPATH")
	for _, j := range sim.Jobs() {
		addr := j.Addresses[0]
		if len(j.Addresses) > 1 {
			addr = fmt.Sprintf("%s … %s (%d targets)", j.Addresses[0], j.Addresses[len(j.Addresses)-1], len(j.Addresses))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", j.Name, addr, j.MetricsPath)
	}
	if c := sim.ControlAddr(); c != "" {
		fmt.Fprintf(tw, "control\t%s\t/jobs /scenarios /scenario/<name>\n", c)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SCENARIO\tACTIVE\tALERTS")
	for _, sc := range sim.ScenarioStatuses() {
		mark := ""
		if sc.Active {
			mark = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sc.Name, mark, strings.Join(sc.Alerts, ", "))
	}
	_ = tw.Flush()
}
