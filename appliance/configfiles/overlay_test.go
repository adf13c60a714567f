package configfiles

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/discovery/file"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/configs"
)

// TestOverlay: with the embedded prometheus.yml, rules/ and targets/ of
// --config.dir are read beside the embedded files; with an operator's own
// prometheus.yml its paths resolve against its directory only.
func TestOverlay(t *testing.T) {
	write := func(dir, name, text string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	origins := func(s *Set) map[string]Origin {
		m := map[string]Origin{}
		for _, f := range s.Files {
			m[f.Name] = f.Origin
		}
		return m
	}
	sdFiles := func(s *Set, job string) []string {
		for _, sc := range s.Prometheus.ScrapeConfigs {
			if sc.JobName == job {
				return sc.ServiceDiscoveryConfigs[0].(*file.SDConfig).Files
			}
		}
		return nil
	}
	emb := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, Materialize(configs.FS, emb))

	t.Run("embedded prometheus.yml", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "rules/custom.yml", "groups:\n  - name: custom\n    rules:\n      - record: x\n        expr: vector(1)\n  - name: smm_business\n")
		write(dir, "rules/canary.yml", "groups: []\n")
		write(dir, "targets/postgres.yml", "[]\n")
		write(dir, "targets/postgres-eu.yml", "[]\n")
		set, err := Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
		require.NoError(t, err)
		o := origins(set)
		require.Equal(t, Embedded, o["prometheus.yml"])
		require.Equal(t, Added, o["rules/custom.yml"])
		require.Equal(t, Overridden, o["rules/canary.yml"])
		require.Equal(t, Embedded, o["rules/agents.yml"])
		require.Equal(t, Overridden, o["targets/postgres.yml"])
		require.Equal(t, Added, o["targets/postgres-eu.yml"])
		require.Equal(t, Embedded, o["targets/node.yml"])
		require.Contains(t, set.RuleFiles, filepath.Join(dir, "rules/custom.yml"))
		require.Contains(t, set.RuleFiles, filepath.Join(dir, "rules/canary.yml"))
		require.NotContains(t, set.RuleFiles, filepath.Join(emb, "rules/canary.yml"), "replaced")
		require.Contains(t, set.RuleFiles, filepath.Join(emb, "rules/agents.yml"))
		require.Equal(t, []string{"smm_business"}, set.DisabledGroups)
		// The embedded postgres.yml is replaced: only the config.dir globs.
		require.Equal(t, []string{filepath.Join(dir, "targets/postgres.yml"), filepath.Join(dir, "targets/postgres-*.yml")}, sdFiles(set, "postgres"))
		require.Equal(t, []string{filepath.Join(emb, "targets/node.yml"), filepath.Join(dir, "targets/node.yml"), filepath.Join(dir, "targets/node-*.yml")}, sdFiles(set, "node"))
	})

	t.Run("own prometheus.yml owns its paths", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "prometheus.yml", "rule_files: [rules/*.yml]\nscrape_configs:\n  - job_name: x\n    file_sd_configs:\n      - files: [targets/x.yml]\n")
		write(dir, "rules/agents.yml", "groups: []\n")
		set, err := Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
		require.NoError(t, err)
		require.Equal(t, []string{filepath.Join(dir, "rules/agents.yml")}, set.RuleFiles, "no embedded rules mixed in")
		require.Equal(t, []string{filepath.Join(dir, "targets/x.yml")}, sdFiles(set, "x"))
		require.Equal(t, Overridden, origins(set)["rules/agents.yml"])
		require.Equal(t, Overridden, origins(set)["prometheus.yml"])
	})

	t.Run("broken target file", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "targets/node-extra.yml", "- targets: [\"a:1\"]\n  lables: {x: y}\n")
		_, err := Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
		require.ErrorContains(t, err, filepath.Join(dir, "targets/node-extra.yml"))
		require.ErrorContains(t, err, "lables")
	})

	t.Run("no config.dir", func(t *testing.T) {
		set, err := Loader{Sources: Sources{EmbeddedDir: emb}, Lookup: env(nil)}.Load()
		require.NoError(t, err)
		for _, f := range set.Files {
			require.Equal(t, Embedded, f.Origin, f.Name)
		}
		require.Equal(t, []string{filepath.Join(emb, "targets/node.yml"), filepath.Join(emb, "targets/node-*.yml")}, sdFiles(set, "node"))
	})
}
