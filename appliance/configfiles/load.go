package configfiles

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/promslog"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/file"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"

	"github.com/smm-architect/smm-appliance/alerting/acklink"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
	"github.com/smm-architect/smm-appliance/alerting/slo"
	"github.com/smm-architect/smm-appliance/appliance/envsubst"
	"github.com/smm-architect/smm-appliance/web/auth"
	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// Set is one consistent, validated configuration of the whole appliance.
type Set struct {
	PrometheusPath string
	Prometheus     *promconfig.Config
	RuleFiles      []string // expanded from rule_files globs over both layers
	// DisabledGroups are the rule groups switched off by a group of the
	// same name with no rules in a rule file of --config.dir.
	DisabledGroups []string
	// Files lists every file in force and where it came from.
	Files            []File
	AlertmanagerPath string
	Alertmanager     *amconfig.Config
	Templates        *template.Template
	Channels         []Channel
	AppliancePath    string
	Appliance        *ApplianceConfig
	// Digests holds the sha256 of every file read, by path, so a reload can
	// say what changed.
	Digests map[string]string
	// Dashboards are the dashboards in force (dashboards/*.yml of both
	// layers), each with the alerting rules that link to it.
	Dashboards []*dashboards.Dashboard
	// DashboardWarnings name dashboard_url links that lead nowhere.
	DashboardWarnings []string

	// secrets are the values of the variables the files refer to, to be
	// scrubbed from error messages: a parser that quotes a bad value would
	// otherwise put a webhook URL or password into a log line.
	secrets     []string
	secretNames []string // the variables referred to
	// dumpSecrets are the values of the SecretVariables referred to, to
	// be redacted in configuration dumps.
	dumpSecrets []string
}

// DisabledChannels returns the channels switched off for lack of a secret
// (not the alternatives another item replaces).
func (s *Set) DisabledChannels() []Channel {
	var out []Channel
	for _, c := range s.Channels {
		if !c.Enabled && c.ReplacedBy == "" {
			out = append(out, c)
		}
	}
	return out
}

// ReceiversWithoutChannels returns the receivers that have integrations in
// the file but none left enabled.
func (s *Set) ReceiversWithoutChannels() map[string]bool {
	enabled := map[string]bool{}
	out := map[string]bool{}
	for _, c := range s.Channels {
		enabled[c.Receiver] = enabled[c.Receiver] || c.Enabled
	}
	for r, on := range enabled {
		if !on {
			out[r] = true
		}
	}
	return out
}

// Loader reads a Set from Sources.
type Loader struct {
	Sources Sources
	// Lookup resolves ${VAR} references; os.LookupEnv when nil.
	Lookup envsubst.Lookup
	Logger *slog.Logger
	// WebConfigFile, if set, is validated too (users and TLS).
	WebConfigFile string
	// TemplateOptions add functions to the notification templates, and
	// TemplateOverlay, parsed after the configured templates, redefines
	// some with them (the appliance's signed ack links, acklink).
	TemplateOptions []template.Option
	TemplateOverlay string
}

// Load reads, expands and validates every file. Errors name the file and,
// where the parser gives one, the line.
func (l Loader) Load() (*Set, error) {
	if l.Lookup == nil {
		l.Lookup = os.LookupEnv
	}
	raw := l.Lookup
	l.Lookup = envsubst.Trimmed(raw)
	if l.Logger == nil {
		l.Logger = promslog.NewNopLogger()
	}
	s := &Set{Digests: map[string]string{}}
	var errs []error
	if err := l.loadPrometheus(s); err != nil {
		errs = append(errs, err)
	}
	if err := l.loadDashboards(s); err != nil {
		errs = append(errs, err)
	}
	if err := l.loadAlertmanager(s); err != nil {
		errs = append(errs, err)
	}
	if err := l.loadAppliance(s); err != nil {
		errs = append(errs, err)
	}
	if l.WebConfigFile != "" {
		if _, err := l.read(s, l.WebConfigFile); err != nil {
			errs = append(errs, fmt.Errorf("load web config: %w", err))
		} else if _, err := auth.LoadUsers(l.WebConfigFile); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range s.secretNames {
		if v, ok := l.Lookup(name); ok && v != "" && slices.Contains(SecretVariables, name) && !slices.Contains(s.dumpSecrets, v) {
			s.dumpSecrets = append(s.dumpSecrets, v)
		}
	}
	if len(errs) > 0 {
		// The values before trimming too: a parser may have seen them in
		// an earlier step.
		secrets := slices.Clone(s.secrets)
		for _, name := range s.secretNames {
			if v, ok := raw(name); ok && len(v) >= 6 && !slices.Contains(secrets, v) {
				secrets = append(secrets, v)
			}
		}
		return nil, scrub(errors.Join(errs...), secrets)
	}
	return s, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// scrub replaces secret values in an error's message.
func scrub(err error, secrets []string) error {
	msg := err.Error()
	clean := Scrub(msg, secrets)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

// Scrub replaces every form of each secret in s with <secret>: the value
// itself and as Go's %q, JSON, URL query and URL path escaping print it (a
// parser that quotes a bad value with %q turns a newline into \n, so the
// raw value no longer matches).
func Scrub(s string, secrets []string) string {
	// Longest first, so a secret containing another is replaced whole.
	var forms []string
	for _, v := range secrets {
		if v == "" {
			continue
		}
		forms = append(forms, escapedForms(v)...)
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range slices.Compact(forms) {
		s = strings.ReplaceAll(s, f, "<secret>")
	}
	return s
}

func escapedForms(v string) []string {
	q := strconv.Quote(v)
	qa := strconv.QuoteToASCII(v)
	j, _ := json.Marshal(v)
	forms := []string{v, q[1 : len(q)-1], qa[1 : len(qa)-1], string(j[1 : len(j)-1]), url.QueryEscape(v), url.PathEscape(v)}
	// A trailing newline or space the value lost in trimming.
	if t := strings.TrimRight(v, " \t\r\n\v\f"); len(t) >= 6 && t != v {
		forms = append(forms, escapedForms(t)...)
	}
	return forms
}

func (l Loader) read(s *Set, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	s.Digests[path] = hex.EncodeToString(sum[:])
	for _, m := range varRef.FindAllStringSubmatch(string(b), -1) {
		// Short values ("1", "yes") are not worth scrubbing and would
		// mangle messages.
		if v, ok := l.Lookup(m[1]); ok && len(v) >= 6 && !slices.Contains(s.secrets, v) {
			s.secrets = append(s.secrets, v)
		}
		if !slices.Contains(s.secretNames, m[1]) {
			s.secretNames = append(s.secretNames, m[1])
		}
	}
	return string(b), nil
}

func (l Loader) loadPrometheus(s *Set) error {
	path := l.Sources.Path(PrometheusFile)
	s.PrometheusPath = path
	text, err := l.read(s, path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	expanded, _, err := envsubst.ExpandYAML(text, l.Lookup, nil)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	cfg, err := promconfig.Load(expanded, l.Logger)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, locate(err, text))
	}
	patterns := slices.Clone(cfg.RuleFiles)
	promDir := filepath.Dir(path)
	cfg.SetDirectory(promDir)
	if _, err := cfg.GetScrapeConfigs(); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	s.Prometheus = cfg
	s.Files = append(s.Files, File{Name: PrometheusFile, Path: path, Origin: l.Sources.origin(PrometheusFile, path)})

	var errs []error
	p := parser.NewParser(parser.Options{})
	groups := map[string]*rulefmt.RuleGroups{}
	var ruleFiles []File
	for i, pat := range patterns {
		var matched []File
		var err error
		if filepath.IsAbs(pat) {
			var m []string
			m, err = filepath.Glob(pat)
			for _, f := range m {
				matched = append(matched, File{Name: f, Path: f, Origin: Added})
			}
		} else {
			matched, err = l.Sources.overlayGlob(promDir, pat)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("load %s: rule_files %q: %w", path, cfg.RuleFiles[i], err))
			continue
		}
		for _, mf := range matched {
			f := mf.Path
			if slices.Contains(s.RuleFiles, f) {
				continue
			}
			if _, err := l.read(s, f); err != nil {
				errs = append(errs, fmt.Errorf("load rules %s: %w", f, err))
				continue
			}
			rgs, ruleErrs := rulefmt.ParseFile(f, false, cfg.GlobalConfig.MetricNameValidationScheme, p, l.Logger)
			if len(ruleErrs) > 0 {
				for _, e := range ruleErrs {
					// rulefmt already prefixes the file name.
					errs = append(errs, fmt.Errorf("load rules: %w", e))
				}
				continue
			}
			groups[f] = rgs
			s.RuleFiles = append(s.RuleFiles, f)
			ruleFiles = append(ruleFiles, mf)
		}
	}
	s.DisabledGroups = switchedOff(ruleFiles, groups)
	s.Files = append(s.Files, ruleFiles...)

	for _, sc := range cfg.ScrapeConfigs {
		for _, sd := range sc.ServiceDiscoveryConfigs {
			fsd, ok := sd.(*file.SDConfig)
			if !ok {
				continue
			}
			targets, err := l.Sources.overlayFileSD(promDir, fsd)
			if err != nil {
				errs = append(errs, fmt.Errorf("load %s: job %q file_sd_configs: %w", path, sc.JobName, err))
			}
			for _, t := range targets {
				if slices.ContainsFunc(s.Files, func(f File) bool { return f.Path == t.Path }) {
					continue
				}
				s.Files = append(s.Files, t)
				// file_sd would only log a broken file and scrape
				// nothing from it; say so where the operator looks.
				if err := l.checkTargets(s, t.Path); err != nil {
					errs = append(errs, fmt.Errorf("load targets %s: %w", t.Path, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkTargets parses a file_sd file as file_sd does.
func (l Loader) checkTargets(s *Set, path string) error {
	text, err := l.read(s, path)
	if err != nil {
		return err
	}
	var groups []*targetgroup.Group
	if filepath.Ext(path) == ".json" {
		return json.Unmarshal([]byte(text), &groups)
	}
	return yaml2.UnmarshalStrict([]byte(text), &groups)
}

func (l Loader) loadAlertmanager(s *Set) error {
	path := l.Sources.Path(AlertmanagerFile)
	s.AlertmanagerPath = path
	text, err := l.read(s, path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	expanded, dropped, err := envsubst.ExpandYAML(text, l.Lookup, dropUnconfiguredChannels)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err == nil && len(doc.Content) > 0 {
		s.Channels = channelsOf(doc.Content[0], dropped)
	}
	cfg, err := amconfig.Load(expanded)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, locate(err, text))
	}
	dir := filepath.Dir(path)
	for i, t := range cfg.Templates {
		if !filepath.IsAbs(t) {
			cfg.Templates[i] = filepath.Join(dir, t)
		}
	}
	if cfg.Global != nil && cfg.Global.HTTPConfig != nil {
		cfg.Global.HTTPConfig.SetDirectory(dir)
	}
	tmpl, err := template.FromGlobs(cfg.Templates, l.TemplateOptions...)
	if err != nil {
		return fmt.Errorf("load templates of %s: %w", path, err)
	}
	if l.TemplateOverlay != "" {
		if err := tmpl.Parse(strings.NewReader(l.TemplateOverlay)); err != nil {
			return fmt.Errorf("load templates of %s: the appliance's link templates: %w", path, err)
		}
	}
	for _, rcv := range cfg.Receivers {
		if _, err := receiver.BuildReceiverIntegrations(rcv, tmpl, l.Logger); err != nil {
			return fmt.Errorf("load %s: receiver %q: %w", path, rcv.Name, err)
		}
	}
	for _, f := range cfg.Templates {
		matches, _ := filepath.Glob(f)
		for _, m := range matches {
			_, _ = l.read(s, m)
		}
	}
	s.Alertmanager = cfg
	s.Templates = tmpl
	s.Files = append(s.Files, File{Name: AlertmanagerFile, Path: path, Origin: l.Sources.origin(AlertmanagerFile, path)})
	return nil
}

// ApplianceConfig is appliance.yml: the appliance's own settings.
type ApplianceConfig struct {
	Escalation escalation.Policy `yaml:"escalation"`
	Auth       auth.Config       `yaml:"auth"`
	Report     slo.ReportConfig  `yaml:"report"`
	// Acknowledge: links in messages, PagerDuty and Slack webhooks.
	Acknowledge acklink.Config `yaml:"acknowledge"`
}

func (l Loader) loadAppliance(s *Set) error {
	path := l.Sources.Path(ApplianceFile)
	s.AppliancePath = path
	cfg := &ApplianceConfig{}
	text, err := l.read(s, path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Optional: without it there is no escalation.
		s.Appliance = cfg
		return nil
	case err != nil:
		return fmt.Errorf("load %s: %w", path, err)
	}
	expanded, _, err := envsubst.ExpandYAML(text, l.Lookup, nil)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	if err := yaml2.UnmarshalStrict([]byte(expanded), cfg); err != nil {
		return fmt.Errorf("load %s: %w", path, locate(escalation.Locate(err, text), text))
	}
	s.Files = append(s.Files, File{Name: ApplianceFile, Path: path, Origin: l.Sources.origin(ApplianceFile, path)})
	if s.Alertmanager != nil {
		has := func(name string) bool {
			return slices.ContainsFunc(s.Alertmanager.Receivers, func(r amconfig.Receiver) bool { return r.Name == name })
		}
		if filepath.Dir(path) != filepath.Clean(l.Sources.EmbeddedDir) {
			if err := cfg.Escalation.CheckReceivers(has); err != nil {
				return fmt.Errorf("load %s: %w", path, escalation.Locate(err, text))
			}
		}
		// The embedded default names the shipped "escalation" receiver;
		// an operator's own alertmanager.yml may not have it. That is not
		// their error: the step is left out.
		for _, d := range cfg.Escalation.DropUnknownReceivers(has) {
			l.Logger.Warn("escalation step left out: its receiver is not in alertmanager.yml",
				"chain", d.Chain, "step", d.Step, "receiver", d.Receiver, "alertmanager", s.AlertmanagerPath)
		}
	}
	s.Appliance = cfg
	return nil
}
