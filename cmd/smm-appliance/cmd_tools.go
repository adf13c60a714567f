package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smm-architect/smm-appliance/alerting/alertdocs"
	"github.com/smm-architect/smm-appliance/alerting/routes"
	"github.com/smm-architect/smm-appliance/alerting/ruletest"
	"github.com/smm-architect/smm-appliance/appliance"
	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/appliance/envsubst"
	"github.com/smm-architect/smm-appliance/configs"
)

// toolCommands are the operators' tools: rule unit tests, routing checks and
// the alert reference. They read the configuration `run` would load
// (--config.dir over the embedded defaults) and start nothing.
type toolCommands struct {
	testRules *kingpin.CmdClause
	ruleTests []string

	routesShow      *kingpin.CmdClause
	routesTest      *kingpin.CmdClause
	verifyReceivers string
	labels          []string

	docsAlerts *kingpin.CmdClause
	docsOut    string

	render     *kingpin.CmdClause
	renderWhat string
}

// registerTools defines the tool commands on app.
func registerTools(app *kingpin.Application) *toolCommands {
	t := &toolCommands{}
	test := app.Command("test", "Run unit tests.")
	t.testRules = test.Command("rules", "Run rule unit tests in promtool's `test rules` format.")
	t.testRules.Arg("test-rule-file", "Unit test files.").Required().StringsVar(&t.ruleTests)

	rts := app.Command("routes", "Inspect the Alertmanager route tree of alertmanager.yml.")
	t.routesShow = rts.Command("show", "Print the route tree: matchers, receiver, continue, group_by, timings and time intervals of every route.").Default()
	t.routesTest = rts.Command("test", "Print the receivers an alert with the given labels is routed to, in tree order, comma separated.")
	t.routesTest.Flag("verify.receivers", "Comma-separated receivers the labels must route to (in any order); exit 1 when they do not.").StringVar(&t.verifyReceivers)
	t.routesTest.Arg("labels", "Labels of the alert, as name=value.").StringsVar(&t.labels)

	docs := app.Command("docs", "Generate documentation from the configuration.")
	t.docsAlerts = docs.Command("alerts", "Write the Markdown reference of every alert: condition, for, severity, teams, receivers and runbook. Environment variables are not read, so the output depends on the files only.")
	t.docsAlerts.Flag("out", "File to write; standard output when empty.").StringVar(&t.docsOut)

	cfg := app.Command("config", "Show the configuration.")
	t.render = cfg.Command("render", "Print the effective file, as `run` would load it (environment expanded, channels without their secrets left out, relative paths against the embedded defaults), with secrets as <secret>. Upstream tools accept it: amtool config routes test --config.file=FILE.")
	t.render.Arg("file", "alertmanager or prometheus.").Required().EnumVar(&t.renderWhat, "alertmanager", "prometheus")
	return t
}

// run runs cmd when it is one of the tools; ok is false otherwise.
func (t *toolCommands) run(cmd string, opts appliance.Options, stdout, stderr io.Writer) (code int, ok bool) {
	switch cmd {
	case t.testRules.FullCommand():
		if !ruletest.Run(stdout, stderr, t.ruleTests...) {
			return 1, true
		}
		return 0, true
	case t.routesShow.FullCommand():
		return t.showRoutes(opts, stdout, stderr), true
	case t.routesTest.FullCommand():
		return t.testRoutes(opts, stdout, stderr), true
	case t.docsAlerts.FullCommand():
		return t.writeAlertDocs(opts, stdout, stderr), true
	case t.render.FullCommand():
		return t.renderConfig(opts, stdout, stderr), true
	}
	return 0, false
}

func (t *toolCommands) showRoutes(opts appliance.Options, stdout, stderr io.Writer) int {
	set, cleanup, err := loadConfig(opts.ConfigDir, os.LookupEnv)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "routes show: %s\n", err)
		return 1
	}
	if err := routes.New(set.Alertmanager.Route).Write(stdout); err != nil {
		fmt.Fprintf(stderr, "routes show: %s\n", err)
		return 1
	}
	return 0
}

func (t *toolCommands) testRoutes(opts appliance.Options, stdout, stderr io.Writer) int {
	ls, err := routes.ParseLabels(t.labels)
	if err != nil {
		fmt.Fprintf(stderr, "routes test: %s\n", err)
		return 2
	}
	set, cleanup, err := loadConfig(opts.ConfigDir, os.LookupEnv)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "routes test: %s\n", err)
		return 1
	}
	got := routes.Receivers(routes.New(set.Alertmanager.Route).Match(ls))
	fmt.Fprintln(stdout, strings.Join(got, ","))
	if t.verifyReceivers != "" {
		if err := routes.Verify(got, t.verifyReceivers); err != nil {
			fmt.Fprintf(stderr, "WARNING: expected receivers did not match resolved receivers: %s\n", err)
			return 1
		}
	}
	return 0
}

func (t *toolCommands) writeAlertDocs(opts appliance.Options, stdout, stderr io.Writer) int {
	// No environment: secrets only switch channels off, never change routes,
	// and the reference must come out the same on every machine.
	noEnv := func(string) (string, bool) { return "", false }
	set, cleanup, err := loadConfig(opts.ConfigDir, noEnv)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "docs alerts: %s\n", err)
		return 1
	}
	alerts, err := alertdocs.Collect(set.RuleFiles, routes.New(set.Alertmanager.Route))
	if err != nil {
		fmt.Fprintf(stderr, "docs alerts: %s\n", err)
		return 1
	}
	var b bytes.Buffer
	if err := alertdocs.Write(&b, alerts); err != nil {
		fmt.Fprintf(stderr, "docs alerts: %s\n", err)
		return 1
	}
	if t.docsOut == "" {
		_, _ = stdout.Write(b.Bytes())
		return 0
	}
	if err := os.WriteFile(t.docsOut, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "docs alerts: %s\n", err)
		return 1
	}
	return 0
}

var smarthost = regexp.MustCompile(`(?m)^(\s*(?:smtp_)?smarthost: )\S+:(\d+)$`)

// renderConfig prints the effective alertmanager.yml or prometheus.yml.
// The seed's `amtool config routes test --config.file=alertmanager.yml`
// fails on the shipped file (its ${SLACK_WEBHOOK_URL} is no URL to amtool);
// this output, with secrets as <secret>, is what it can read.
func (t *toolCommands) renderConfig(opts appliance.Options, stdout, stderr io.Writer) int {
	var embedded string
	set, cleanup, err := loadConfigIn(opts.ConfigDir, appliance.LookupEnv(opts.Environment), &embedded)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "config render: %s\n", err)
		return 1
	}
	var text string
	switch t.renderWhat {
	case "alertmanager":
		text = set.Alertmanager.String()
	case "prometheus":
		text = set.Prometheus.String()
	}
	// Files of the embedded defaults are named as in the shipped file
	// (templates/slack.tmpl): the temporary copy is gone when this returns.
	text = strings.ReplaceAll(text, embedded+string(filepath.Separator), "")
	// A mail relay is host:port to Alertmanager: <secret> alone would not
	// parse, so its host only is hidden.
	text = smarthost.ReplaceAllString(text, "${1}<secret>:${2}")
	fmt.Fprint(stdout, set.RedactDump(text))
	return 0
}

// loadConfig loads and validates the configuration as `run` does: files in
// configDir override the embedded defaults, which are written to a temporary
// directory that cleanup removes. cleanup is never nil. Errors name embedded
// files as <embedded>/NAME.
func loadConfig(configDir string, lookup envsubst.Lookup) (set *configfiles.Set, cleanup func(), err error) {
	var embedded string
	return loadConfigIn(configDir, lookup, &embedded)
}

// loadConfigIn is loadConfig that also says where the embedded defaults
// were written.
func loadConfigIn(configDir string, lookup envsubst.Lookup, embeddedDir *string) (set *configfiles.Set, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "smm-appliance-tools")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	embedded := filepath.Join(tmp, "embedded")
	*embeddedDir = embedded
	if err := configfiles.Materialize(configs.FS, embedded); err != nil {
		return nil, cleanup, err
	}
	set, err = configfiles.Loader{Sources: configfiles.Sources{Dir: configDir, EmbeddedDir: embedded}, Lookup: lookup}.Load()
	if err != nil {
		return nil, cleanup, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), embedded, "<embedded>"))
	}
	return set, cleanup, nil
}
