package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDropInRulesAndTargets: a --config.dir holding only rules/ and
// targets/ files, no prometheus.yml, is read beside the embedded defaults
// (issue 16). A new rule file is loaded and its alert fires on a target from
// a new target file; a rule file of an embedded name replaces it; a group
// with no rules switches the embedded group of that name off. `check
// config` and the start-up log list every file and where it came from.
func TestDropInRulesAndTargets(t *testing.T) {
	exp := newExporter(t)
	exp.set("e2e_value", 42)
	cfg := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(cfg, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(cfg, name), []byte(text), 0o644))
	}
	write("rules/custom.yml", `groups:
  - name: e2e_custom
    interval: 1s
    rules:
      - alert: E2E_DropInFires
        expr: e2e_value{job="smm-api"} > 10
        labels: {severity: warning, team: platform, service: smm-api}
  # No rules: switches the embedded group smm_business off.
  - name: smm_business
`)
	write("rules/canary.yml", `groups:
  - name: smm_canary
    rules:
      - alert: E2E_CanaryOverride
        expr: vector(0) > 1
`)
	write("targets/smm-api-e2e.yml", `- targets: ["`+exp.addr()+`"]
  labels: {e2e: dropin}
`)

	out, err := exec.Command(binary, "check", "config", "--config.dir", cfg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, want := range []string{
		"file rules/custom.yml: added (" + filepath.Join(cfg, "rules/custom.yml") + ")",
		"file rules/canary.yml: overridden (" + filepath.Join(cfg, "rules/canary.yml") + ")",
		"file rules/agents.yml: embedded (<embedded>/rules/agents.yml)",
		"file targets/smm-api-e2e.yml: added",
		"file targets/smm-api.yml: embedded",
		"file prometheus.yml: embedded",
		"rule group smm_business: switched off",
	} {
		require.Contains(t, string(out), want)
	}

	a := startAppliance(t, cfg, t.TempDir(), nil, "--rules.alert.resend-delay=1s")
	require.Contains(t, a.logs.String(), "configuration files in force")
	require.Regexp(t, `added=[^ ]*rules/custom.yml`, a.logs.String())
	require.Regexp(t, `overridden=[^ ]*rules/canary.yml`, a.logs.String())

	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				File  string `json:"file"`
				Rules []struct {
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/rules", &rules)
	groups := map[string][]string{}
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			groups[g.Name] = append(groups[g.Name], r.Name)
		}
		if _, ok := groups[g.Name]; !ok {
			groups[g.Name] = nil
		}
	}
	require.Equal(t, []string{"E2E_DropInFires"}, groups["e2e_custom"], "drop-in group loaded")
	require.Equal(t, []string{"E2E_CanaryOverride"}, groups["smm_canary"], "override replaces the embedded file")
	require.NotContains(t, groups, "smm_business", "switched off")
	require.Contains(t, groups, "smm_agents", "embedded groups stay")

	// The drop-in target is scraped under the job its file name gives.
	waitFor(t, 40*time.Second, "drop-in target scraped", func() bool {
		v := query(t, a, `up{job="smm-api",e2e="dropin"} == 1`, time.Now())
		return len(v) == 1 && v[0].Metric["instance"] == exp.addr()
	})
	waitFor(t, 40*time.Second, "drop-in rule fires", func() bool {
		return promAlertState(t, a, "E2E_DropInFires") == "firing"
	})
}

// TestEmbeddedConfigMarked: the files written to data/embedded-config are
// read-only and say on their first line that they are rewritten.
func TestEmbeddedConfigMarked(t *testing.T) {
	data := t.TempDir()
	a := startAppliance(t, "", data, nil)
	a.stop()
	var files []string
	require.NoError(t, filepath.WalkDir(filepath.Join(data, "embedded-config"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, p)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		first, _, _ := strings.Cut(string(b), "\n")
		require.Contains(t, first, "edits here are lost", p)
		fi, err := d.Info()
		require.NoError(t, err)
		require.Zero(t, fi.Mode().Perm()&0o222, "%s is read-only", p)
		return nil
	}))
	require.True(t, slices.ContainsFunc(files, func(p string) bool { return strings.HasSuffix(p, "prometheus.yml") }))
}
