// Command smm-appliance runs the SMM monitoring appliance: Prometheus storage,
// scraping and rules plus the Alertmanager pipeline in one process, preloaded
// with the SMM alerting configuration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/smm-architect/smm-appliance/appliance"
	"github.com/smm-architect/smm-appliance/web/auth"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("smm-appliance", "The SMM monitoring appliance: Prometheus and Alertmanager in one process, preloaded with the SMM alerting configuration.")
	app.Version(version.Print("smm-appliance"))
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	// kingpin exits the process after --help and --version; tests call run
	// in-process, so record it instead and return.
	terminated := false
	app.Terminate(func(int) { terminated = true })

	var opts appliance.Options
	opts.RegisterFlags(app)
	generate := app.Flag("web.config.generate", "When --web.config.file does not exist, create it at start with user admin and a random password, logged once and kept in "+auth.InitialPasswordFile+" beside it (the image's first start).").
		Envar("SMM_WEB_CONFIG_GENERATE").Bool()
	logCfg := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(app, logCfg)

	runCmd := app.Command("run", "Run the appliance (the default).").Default()
	checkCmd := app.Command("check", "Validate configuration.")
	checkConfigCmd := checkCmd.Command("config", "Validate prometheus.yml, rule files, alertmanager.yml and templates; report which secrets are missing.")
	tools := registerTools(app)
	hashCmd := app.Command("hash-password", "Read a password on standard input and print its bcrypt hash for basic_auth_users in --web.config.file.")
	initAuthCmd := registerInitAuth(app)
	tokenCmds := registerTokens(app)
	deployCmd := registerDeploy(app)
	dashboardsCmd := registerDashboards(app)

	cmd, err := app.Parse(args)
	if terminated {
		return 0 // --help or --version was printed
	}
	if err != nil {
		fmt.Fprintf(stderr, "smm-appliance: %s\n", err)
		return 2
	}
	logger := promslog.New(logCfg)

	if code, ok := tools.run(cmd, opts, stdout, stderr); ok {
		return code
	}
	if code, ok := tokenCmds.run(cmd, opts.StoragePath, stdout, stderr); ok {
		return code
	}
	switch cmd {
	case checkConfigCmd.FullCommand():
		return checkConfig(opts, stdout, stderr)
	case hashCmd.FullCommand():
		return hashPassword(os.Stdin, stdout, stderr)
	case deployCmd.cmd.FullCommand():
		return deployCmd.run(opts.ConfigDir, stdout, stderr)
	case initAuthCmd.cmd.FullCommand():
		return initAuthCmd.run(opts.WebConfigFile, stdout, stderr)
	case dashboardsCmd.cmd.FullCommand():
		return dashboardsCmd.run(opts, stdout, stderr)
	case runCmd.FullCommand():
	}

	opts.Flags = map[string]string{}
	for _, f := range app.Model().Flags {
		if f.Name == "help" || f.Name == "version" || f.Name == "help-long" || f.Name == "help-man" || f.Name == "completion-bash" || f.Name == "completion-script-bash" || f.Name == "completion-script-zsh" {
			continue
		}
		opts.Flags[f.Name] = f.Value.String()
	}

	// Signals first, before anything slow (Prometheus: "before the
	// potentially long and synchronous tsdb init"): SIGTERM and SIGINT
	// stop the appliance cleanly even while its TSDB replays the WAL, and
	// SIGHUP, which the packaged unit's ExecReload sends, never takes Go's
	// default action of killing the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	logger.Info("starting smm-appliance", "version", version.Info(), "build_context", version.BuildContext())
	if *generate {
		if err := generateWebConfig(opts.WebConfigFile, logger); err != nil {
			logger.Error("cannot start", "err", err)
			return 1
		}
	}
	a, err := appliance.New(opts, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	go func() {
		for range hup {
			// A reload asked for during the WAL replay waits for the first
			// configuration load. Errors are logged and counted by the
			// reload path itself.
			_ = a.Reload("signal")
		}
	}()
	if err := a.Run(ctx); err != nil {
		logger.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}
