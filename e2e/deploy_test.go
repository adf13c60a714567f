package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// configFiles is what a bundle of dir holds: its configuration files
// (not web.yml, nor the TLS key and certificate).
func configFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasSuffix(rel, ".yml") && (!strings.Contains(rel, "/") && rel != "web.yml" && rel != "amtool-http.yml" || strings.HasPrefix(rel, "rules/")) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			files[rel] = string(b)
		}
		return nil
	}))
	return files
}

// bundleOf is a gzip-compressed tar of dir's configuration files, with
// edits applied (name → content; "" deletes).
func bundleOf(t *testing.T, dir string, edits map[string]string) []byte {
	t.Helper()
	files := configFiles(t, dir)
	for n, c := range edits {
		if c == "" {
			delete(files, n)
		} else {
			files[n] = c
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for n, c := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(c))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

type configVersion struct {
	Version    int    `json:"version"`
	Author     string `json:"author"`
	Source     string `json:"source"`
	Result     string `json:"result"`
	Active     bool   `json:"active"`
	RollbackOf int    `json:"rollbackOf"`
	Diff       string `json:"diff"`
}

func (s *securedAppliance) versions(t *testing.T) []configVersion {
	t.Helper()
	code, body := s.as(t, "admin", "GET", s.web+"/api/v1/appliance/config/versions", nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	var resp struct {
		Data []configVersion `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	return resp.Data
}

func activeVersion(vs []configVersion) int {
	for _, v := range vs {
		if v.Active {
			return v.Version
		}
	}
	return 0
}

func (s *securedAppliance) ruleGroups(t *testing.T) string {
	t.Helper()
	code, body := s.as(t, "viewer", "GET", s.web+"/api/v1/rules", nil, nil)
	require.Equal(t, http.StatusOK, code)
	return body
}

type deployAnswer struct {
	Data struct {
		Result  string `json:"result"`
		Version int    `json:"version"`
		InForce int    `json:"inForce"`
		Error   string `json:"error"`
		File    string `json:"file"`
		Line    int    `json:"line"`
		Diff    string `json:"diff"`
	} `json:"data"`
}

func (s *securedAppliance) deploy(t *testing.T, tok string, bundle []byte, query string) (int, deployAnswer) {
	t.Helper()
	code, body := s.bearer(t, tok, "POST", s.web+"/api/v1/appliance/config"+query, bundle, map[string]string{"Content-Type": "application/x-tar"})
	var a deployAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &a), body)
	return code, a
}

const deployedRules = `groups:
  - name: e2e-deployed
    rules:
      - alert: E2EDeployed
        expr: vector(1)
        labels:
          severity: info
`

// TestDeployStagingProduction: the seed's flow with its own command lines
// against two appliances. A dry run changes nothing; a valid bundle
// deployed to staging becomes version 2 there and not in production, and
// stays in force across a restart; an invalid one is refused with file and
// line and changes nothing; a hostile tar is refused; a bundle whose
// reload fails is rolled back by the appliance and reported; production
// then gets the change.
func TestDeployStagingProduction(t *testing.T) {
	staging, production := startSecured(t), startSecured(t)
	client := t.TempDir()
	local := filepath.Join(client, "alerting")
	require.NoError(t, os.MkdirAll(filepath.Join(local, "rules"), 0o750))
	for n, c := range configFiles(t, staging.cfg) {
		require.NoError(t, os.WriteFile(filepath.Join(local, filepath.FromSlash(n)), []byte(c), 0o640))
	}
	var envs strings.Builder
	envs.WriteString("environments:\n")
	toks := map[string]string{}
	for name, s := range map[string]*securedAppliance{"staging": staging, "production": production} {
		toks[name] = cliToken(t, s.dataDir, "ci", "operator", "--scope", "config")
		require.NoError(t, os.WriteFile(filepath.Join(client, name+".token"), []byte(toks[name]+"\n"), 0o600))
		fmt.Fprintf(&envs, "  %s:\n    url: %s\n    token_file: %s.token\n    ca_file: %s\n    config_dir: alerting\n", name, s.web, name, filepath.Join(s.cfg, "tls.crt"))
	}
	envFile := filepath.Join(client, "environments.yml")
	require.NoError(t, os.WriteFile(envFile, []byte(envs.String()), 0o600))
	script, err := filepath.Abs("../scripts/deploy-alerting.sh")
	require.NoError(t, err)
	seed := func(args ...string) (string, string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = append(os.Environ(), "SMM_APPLIANCE="+binary, "SMM_DEPLOY_ENVIRONMENTS="+envFile)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	require.Equal(t, 1, activeVersion(staging.versions(t)), "the start is version 1")

	// The change: a new rule file.
	require.NoError(t, os.WriteFile(filepath.Join(local, "rules", "deployed.yml"), []byte(deployedRules), 0o640))
	out, errOut, err := seed("staging", "--validate-only")
	require.NoError(t, err, "%s%s", out, errOut)
	require.Contains(t, out, "VALID")
	require.Contains(t, out, "+++ b/rules/deployed.yml")
	require.Len(t, staging.versions(t), 1, "a dry run stores nothing")
	require.NotContains(t, staging.ruleGroups(t), "e2e-deployed")

	out, errOut, err = seed("staging")
	require.NoError(t, err, "%s%s", out, errOut)
	require.Contains(t, out, "APPLIED: staging is at version 2")
	vs := staging.versions(t)
	require.Equal(t, 2, activeVersion(vs))
	require.Equal(t, "token:ci", vs[0].Author)
	require.Equal(t, "deploy", vs[0].Source)
	require.Contains(t, staging.ruleGroups(t), "e2e-deployed")
	require.Equal(t, 1, activeVersion(production.versions(t)), "production is untouched")
	require.NotContains(t, production.ruleGroups(t), "e2e-deployed")
	code, body := staging.as(t, "admin", "GET", staging.web+"/api/v1/appliance/config/versions/2", nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `+++ b/rules/deployed.yml`)
	code, body = staging.as(t, "admin", "GET", staging.web+"/api/v1/appliance/audit?event=config_deploy", nil, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"id":"version 2"`)
	require.Contains(t, body, `"user":"token:ci"`)

	// Invalid: refused with file and line, nothing changes.
	bad := strings.Replace(deployedRules, "vector(1)", "sum(rate(x[5m])", 1)
	require.NoError(t, os.WriteFile(filepath.Join(local, "rules", "deployed.yml"), []byte(bad), 0o640))
	out, errOut, err = seed("staging")
	require.Error(t, err)
	require.Contains(t, errOut, "INVALID")
	require.Contains(t, errOut, "rules/deployed.yml")
	code, ans := staging.deploy(t, toks["staging"], bundleOf(t, local, nil), "")
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, "invalid", ans.Data.Result)
	require.Equal(t, "rules/deployed.yml", ans.Data.File, ans.Data.Error)
	require.Equal(t, 5, ans.Data.Line, ans.Data.Error)
	require.Len(t, staging.versions(t), 2, "an invalid bundle stores nothing")
	require.Contains(t, staging.ruleGroups(t), "e2e-deployed")
	require.NoError(t, os.WriteFile(filepath.Join(local, "rules", "deployed.yml"), []byte(deployedRules), 0o640))

	// Hostile: a symlink out of the bundle.
	var hostile bytes.Buffer
	tw := tar.NewWriter(&hostile)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "rules/evil.yml", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}))
	require.NoError(t, tw.Close())
	code, ans = staging.deploy(t, toks["staging"], hostile.Bytes(), "")
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "refused", ans.Data.Result)
	require.Contains(t, ans.Data.Error, "links are not allowed")
	var big bytes.Buffer
	tw = tar.NewWriter(&big)
	for i := range 3 {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("rules/big%d.yml", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: 3 << 20}))
		_, err := tw.Write(bytes.Repeat([]byte("#"), 3<<20))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	code, ans = staging.deploy(t, toks["staging"], big.Bytes(), "")
	require.Equal(t, http.StatusRequestEntityTooLarge, code, ans.Data.Error)
	code, body = staging.bearer(t, toks["staging"], "POST", staging.web+"/api/v1/appliance/config", []byte(`{}`), map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusUnsupportedMediaType, code, body)
	require.Len(t, staging.versions(t), 2)

	// Valid but the reload fails (remote write's CA file is read when the
	// client is built, after validation): rolled back, reported.
	prom := configFiles(t, local)["prometheus.yml"] + "remote_write:\n  - url: https://127.0.0.1:1/api/v1/write\n    tls_config:\n      ca_file: /nonexistent/e2e-ca.pem\n"
	code, ans = staging.deploy(t, toks["staging"], bundleOf(t, local, map[string]string{"prometheus.yml": prom, "rules/deployed.yml": ""}), "")
	require.Equal(t, http.StatusInternalServerError, code, ans.Data.Error)
	require.Equal(t, "rolled_back", ans.Data.Result)
	require.Equal(t, 3, ans.Data.Version)
	require.Equal(t, 2, ans.Data.InForce)
	require.Contains(t, ans.Data.Error, "e2e-ca.pem")
	vs = staging.versions(t)
	require.Equal(t, 2, activeVersion(vs))
	require.Equal(t, "rolled_back", vs[0].Result)
	require.Contains(t, staging.ruleGroups(t), "e2e-deployed", "version 2 is still in force")

	// Across a restart, version 2 stays in force; a token made by the CLI
	// while the appliance is stopped works once it runs.
	staging.stop()
	offline := cliToken(t, staging.dataDir, "offline", "viewer")
	restarted := &securedAppliance{appliance: startApplianceReady(t, staging.cfg, staging.dataDir, e2eEnv(staging.cmd.Env), func(a *appliance) bool {
		code, _, err := staging.cl.try("GET", a.web+"/-/ready", "admin1", staging.passwords["admin1"], nil, nil)
		return err == nil && code == http.StatusOK
	}, "--web.config.file="+filepath.Join(staging.cfg, "web.yml")), cl: staging.cl, pool: staging.pool, cfg: staging.cfg, passwords: staging.passwords}
	require.Equal(t, 2, activeVersion(restarted.versions(t)))
	require.Contains(t, restarted.ruleGroups(t), "e2e-deployed")
	code, _ = restarted.bearer(t, offline, "GET", restarted.web+"/api/v1/rules", nil, nil)
	require.Equal(t, http.StatusOK, code)
	code, ans = restarted.deploy(t, toks["staging"], bundleOf(t, local, nil), "?dry_run=true")
	require.Equal(t, http.StatusOK, code, "tokens survive the restart: %s", ans.Data.Error)

	// Promote to production with the seed's command.
	out, errOut, err = seed("production")
	require.NoError(t, err, "%s%s", out, errOut)
	require.Contains(t, out, "APPLIED: production is at version 2")
	require.Contains(t, production.ruleGroups(t), "e2e-deployed")
}

// e2eEnv is the E2E_ variables of a process's environment, to start it
// again with the same ones.
func e2eEnv(env []string) map[string]string {
	out := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "E2E_") {
			out[k] = v
		}
	}
	return out
}

// TestDeployRollbackConsole: an admin rolls a deploy back from the
// console's Configuration page in Chromium; the diff of each version is
// shown; the rollback is a new version, a copy of the one chosen, and the
// deployed rule is gone.
func TestDeployRollbackConsole(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	a := startAppliance(t, cfg, t.TempDir(), basicEnv(exp, hook))
	requireConsole(t, a)
	post := func(bundle []byte) deployAnswer {
		resp, err := http.Post(a.web+"/api/v1/appliance/config", "application/x-tar", bytes.NewReader(bundle))
		require.NoError(t, err)
		defer resp.Body.Close()
		var ans deployAnswer
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&ans))
		require.Equal(t, http.StatusOK, resp.StatusCode, ans.Data.Error)
		return ans
	}
	ans := post(bundleOf(t, cfg, map[string]string{"rules/deployed.yml": deployedRules}))
	require.Equal(t, 2, ans.Data.Version)
	rules := func() string {
		_, b := httpGet(a.web + "/api/v1/rules")
		return string(b)
	}
	require.Contains(t, rules(), "e2e-deployed")

	b := newUIBrowser(t, a.web)
	b.open(t, "#/versions")
	b.wait(t, 20*time.Second, "version 2 in force", `document.querySelector('#versions-table tr[data-version="2"]').textContent.includes('in force')`)
	b.wait(t, 10*time.Second, "the diff of version 2", `document.getElementById('version-diff').textContent.includes('+++ b/rules/deployed.yml')`)
	b.click(t, `button.rollback[data-version="1"]`)
	b.wait(t, 10*time.Second, "the confirmation", `document.querySelector('dialog[open]')`)
	b.click(t, `dialog[open] button[type=submit]`)
	b.wait(t, 20*time.Second, "version 3 in force", `document.querySelector('#versions-table tr[data-version="3"]') && document.querySelector('#versions-table tr[data-version="3"]').textContent.includes('in force')`)
	b.wait(t, 10*time.Second, "the diff of the rollback", `document.getElementById('version-diff').textContent.includes('--- a/rules/deployed.yml')`)
	b.screenshot(t, "config-versions-rollback", true)

	var resp struct {
		Data []configVersion `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/config/versions", &resp)
	require.Equal(t, 3, activeVersion(resp.Data))
	require.Equal(t, "rollback", resp.Data[0].Source)
	require.Equal(t, 1, resp.Data[0].RollbackOf)
	require.NotContains(t, rules(), "e2e-deployed", "the rollback is in force")
	_, audit := httpGet(a.web + "/api/v1/appliance/audit?event=config_rollback")
	require.Contains(t, string(audit), `"id":"version 3"`)

	// API tokens in the console: created (the secret shown once, and it
	// works), then revoked (and refused).
	b.typeInto(t, "#token-name", "from-ui")
	b.click(t, "#token-form button[type=submit]")
	b.wait(t, 10*time.Second, "the new token's secret", `document.getElementById('token-secret') && document.getElementById('token-secret').textContent.includes('smmat_')`)
	secret := eval[string](t, b, `document.querySelector('#token-secret code').textContent`)
	tokGet := func() int {
		req, err := http.NewRequest("GET", a.web+"/api/v1/appliance/whoami", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, tokGet())
	b.click(t, `#tokens-table tr[data-token="from-ui"] button.revoke`)
	b.wait(t, 10*time.Second, "the confirmation", `document.querySelector('dialog[open]')`)
	b.click(t, `dialog[open] button[type=submit]`)
	b.wait(t, 10*time.Second, "the token gone", `!document.querySelector('#tokens-table tr[data-token="from-ui"]')`)
	require.Equal(t, http.StatusUnauthorized, tokGet(), "revoked in the console")
}

// TestConfigVersionsFromReloadAndUpgrade: a file edit applied by POST
// /-/reload or SIGHUP is a version with its author and diff (a reload that
// changes nothing is not); defaults that changed at start (a package
// upgrade) are a version by "package"; once a bundle is deployed, SIGHUP
// re-reads the deployed version and the files of --config.dir are not read.
func TestConfigVersionsFromReloadAndUpgrade(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg, data := copyConfig(t, "basic"), t.TempDir()
	env := basicEnv(exp, hook)
	a := startAppliance(t, cfg, data, env)
	list := func(a *appliance) []configVersion {
		var resp struct {
			Data []configVersion `json:"data"`
		}
		getJSON(t, a.web+"/api/v1/appliance/config/versions", &resp)
		return resp.Data
	}
	reload := func(a *appliance) {
		resp, err := http.Post(a.web+"/-/reload", "", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Len(t, list(a), 1)
	rulePath := filepath.Join(cfg, "rules", "e2e.yml")
	good, err := os.ReadFile(rulePath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rulePath, append(good, []byte("# edited for the reload version\n")...), 0o644))
	reload(a)
	vs := list(a)
	require.Len(t, vs, 2)
	require.Equal(t, "reload", vs[0].Source)
	require.Equal(t, "api", vs[0].Author)
	require.True(t, vs[0].Active)
	var one struct {
		Data configVersion `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/config/versions/2", &one)
	require.Contains(t, one.Data.Diff, "+# edited for the reload version")
	reload(a)
	require.Len(t, list(a), 2, "a reload that changes nothing is no version")

	require.NoError(t, os.WriteFile(rulePath, append(good, []byte("# edited for SIGHUP\n")...), 0o644))
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 10*time.Second, "a version from SIGHUP", func() bool { return len(list(a)) == 3 })
	require.Equal(t, "signal", list(a)[0].Author)

	// The previous package shipped other defaults: restart on a version
	// whose embedded layer differs.
	a.stop()
	vfile := filepath.Join(data, "config-versions", "3", "version.json")
	raw, err := os.ReadFile(vfile)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	v["embeddedDigest"] = "an older package"
	v["files"].(map[string]any)["templates/common.tmpl"] = "0000"
	raw, err = json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(vfile, raw, 0o640))
	a = startAppliance(t, cfg, data, env)
	vs = list(a)
	require.Len(t, vs, 4)
	require.Equal(t, "upgrade", vs[0].Source)
	require.Equal(t, "package", vs[0].Author)

	// Deployed: SIGHUP re-reads the deployed version, not --config.dir.
	resp, err := http.Post(a.web+"/api/v1/appliance/config", "application/x-tar", bytes.NewReader(bundleOf(t, cfg, map[string]string{"rules/deployed.yml": deployedRules})))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, os.WriteFile(rulePath, good, 0o644))
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 10*time.Second, "the SIGHUP's warning", func() bool {
		return strings.Contains(a.logs.String(), "files of --config.dir are not read while a deployed version is in force")
	})
	require.Len(t, list(a), 5, "nothing new: the deployed version is in force")
	_, rules := httpGet(a.web + "/api/v1/rules")
	require.Contains(t, string(rules), "e2e-deployed")
	require.Contains(t, string(rules), filepath.Join(data, "config-versions", "5", "dir", "rules", "e2e.yml"), "the deployed files, not --config.dir")
}
