package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"go.yaml.in/yaml/v2"

	"github.com/smm-architect/smm-appliance/appliance/versions"
)

// deployCommand is the seed's deploy-alerting.sh: bundle the local
// configuration directory and deploy it to a named environment's
// appliance over its API (validate only, or apply).
type deployCommand struct {
	cmd          *kingpin.CmdClause
	env          string
	validateOnly bool
	envFile      string
	dir          string
}

// Environment is one target of `deploy`, from the environments file.
type Environment struct {
	// URL of the appliance's web listener, e.g. https://alerts-staging:9090.
	URL string `yaml:"url"`
	// TokenFile holds an API token with the config scope (or an admin's).
	TokenFile string `yaml:"token_file"`
	// CAFile, if set, is the CA that signed the appliance's certificate.
	CAFile string `yaml:"ca_file,omitempty"`
	// ConfigDir, if set, is the directory to deploy (default: --dir, then
	// --config.dir).
	ConfigDir string `yaml:"config_dir,omitempty"`
}

func defaultEnvironmentsFile() string {
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "smm-appliance", "environments.yml")
	}
	return "environments.yml"
}

func registerDeploy(app *kingpin.Application) *deployCommand {
	d := &deployCommand{}
	d.cmd = app.Command("deploy", "Bundle the configuration directory and deploy it to an environment's appliance: validated there exactly as `check config`, applied as a new version, rolled back by the appliance if the reload fails.")
	d.cmd.Arg("environment", "Environment name in the environments file (staging, production).").Required().StringVar(&d.env)
	d.cmd.Flag("validate-only", "Validate on the appliance (a dry run) and show the diff; change nothing.").BoolVar(&d.validateOnly)
	d.cmd.Flag("environments", "File of environments: name → url, token_file, ca_file, config_dir. Default: ~/.config/smm-appliance/environments.yml.").
		Envar("SMM_DEPLOY_ENVIRONMENTS").StringVar(&d.envFile)
	d.cmd.Flag("dir", "Configuration directory to deploy (default: the environment's config_dir, else --config.dir).").StringVar(&d.dir)
	return d
}

func loadEnvironments(path string) (map[string]Environment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read environments: %w", err)
	}
	var f struct {
		Environments map[string]Environment `yaml:"environments"`
	}
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	// Relative paths are relative to the environments file.
	base := filepath.Dir(path)
	for n, e := range f.Environments {
		for _, p := range []*string{&e.TokenFile, &e.CAFile, &e.ConfigDir} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
		f.Environments[n] = e
	}
	return f.Environments, nil
}

// deployResult is the appliance's answer (appliance.DeployResult).
type deployResult struct {
	Result  string `json:"result"`
	Version int    `json:"version"`
	InForce int    `json:"inForce"`
	Error   string `json:"error"`
	Diff    string `json:"diff"`
}

func (d *deployCommand) run(configDir string, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "deploy %s: %s\n", d.env, fmt.Sprintf(format, args...))
		return 1
	}
	if d.envFile == "" {
		d.envFile = defaultEnvironmentsFile()
	}
	envs, err := loadEnvironments(d.envFile)
	if err != nil {
		return fail("%s", err)
	}
	env, ok := envs[d.env]
	if !ok {
		var names []string
		for n := range envs {
			names = append(names, n)
		}
		return fail("no environment %q in %s (have: %s)", d.env, d.envFile, strings.Join(names, ", "))
	}
	dir := d.dir
	if dir == "" {
		dir = env.ConfigDir
	}
	if dir == "" {
		dir = configDir
	}
	if dir == "" {
		return fail("no configuration directory: set --dir, config_dir in %s or --config.dir", d.envFile)
	}
	tok, err := os.ReadFile(env.TokenFile)
	if err != nil {
		return fail("token: %s", err)
	}
	var bundle bytes.Buffer
	if err := versions.Pack(dir, &bundle); err != nil {
		return fail("bundle %s: %s", dir, err)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if env.CAFile != "" {
		pem, err := os.ReadFile(env.CAFile)
		if err != nil {
			return fail("CA: %s", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fail("CA %s: no certificate in it", env.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	u := strings.TrimRight(env.URL, "/") + "/api/v1/appliance/config"
	if d.validateOnly {
		u += "?dry_run=true"
	}
	req, err := http.NewRequest(http.MethodPost, u, &bundle)
	if err != nil {
		return fail("%s", err)
	}
	req.Header.Set("Content-Type", "application/x-tar")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	// A reload plus the wait for readiness: well under a minute.
	cl := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}
	resp, err := cl.Do(req)
	if err != nil {
		return fail("%s", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var env2 struct {
		Data  deployResult `json:"data"`
		Error string       `json:"error"`
	}
	if err := json.Unmarshal(body, &env2); err != nil || env2.Data.Result == "" {
		msg := strings.TrimSpace(string(body))
		if env2.Error != "" {
			msg = env2.Error
		}
		return fail("%s: %s", resp.Status, msg)
	}
	r := env2.Data
	switch r.Result {
	case "valid":
		fmt.Fprintf(stdout, "VALID: %s accepts %s (version %d in force); nothing changed.\n", d.env, dir, r.InForce)
		writeDiff(stdout, r.Diff)
		return 0
	case "applied":
		fmt.Fprintf(stdout, "APPLIED: %s is at version %d.\n", d.env, r.Version)
		writeDiff(stdout, r.Diff)
		return 0
	case "rolled_back":
		fmt.Fprintf(stderr, "ROLLED BACK: version %d failed on %s and was rolled back; version %d is in force.\n%s\n", r.Version, d.env, r.InForce, r.Error)
		return 1
	case "invalid":
		fmt.Fprintf(stderr, "INVALID: %s refused the configuration; nothing changed.\n%s\n", d.env, r.Error)
		return 1
	}
	fmt.Fprintf(stderr, "%s: %s: %s\n", strings.ToUpper(r.Result), d.env, r.Error)
	return 1
}

func writeDiff(w io.Writer, diff string) {
	if diff == "" {
		fmt.Fprintln(w, "No change against the configuration in force.")
		return
	}
	fmt.Fprint(w, diff)
}
