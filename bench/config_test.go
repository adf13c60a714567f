package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promconfig "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/file" // registers file_sd_configs
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// TestWriteConfig loads the generated files with the upstream loaders the peers use.
func TestWriteConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer *PeerAddrs
	}{
		{"appliance", nil},
		{"peer", &PeerAddrs{Prometheus: "127.0.0.1:19090", Alertmanager: "127.0.0.1:19093"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, WriteConfig(dir, ConfigParams{
				Source:         "../configs",
				ScrapeInterval: time.Second,
				EvalInterval:   time.Second,
				Targets: []TargetGroup{
					{Targets: []string{"127.0.0.1:20001"}, Labels: map[string]string{"job": "smm-connectors", "__metrics_path__": "/metrics"}},
					{Targets: []string{"127.0.0.1:20002", "127.0.0.1:20003"}, Labels: map[string]string{"job": "smm-bench"}},
				},
				Exporter:   "127.0.0.1:20100",
				Webhook:    "http://127.0.0.1:20200/hook",
				BenchRules: true,
				Peer:       tc.peer,
			}))

			cfg, err := promconfig.LoadFile(filepath.Join(dir, "prometheus.yml"), false, promslog.NewNopLogger())
			require.NoError(t, err)
			require.Equal(t, "1s", cfg.GlobalConfig.ScrapeTimeout.String())
			jobs := map[string]bool{}
			for _, sc := range cfg.ScrapeConfigs {
				jobs[sc.JobName] = true
			}
			require.True(t, jobs["smm-connectors"] && jobs["smm-bench"] && jobs["bench-harness"])
			require.Equal(t, tc.peer != nil, jobs["prometheus"] && jobs["alertmanager"])
			require.Equal(t, tc.peer != nil, len(cfg.AlertingConfig.AlertmanagerConfigs) == 1)

			b, err := os.ReadFile(filepath.Join(dir, "targets", "smm-connectors.yml"))
			require.NoError(t, err)
			require.Contains(t, string(b), "127.0.0.1:20001")

			rules, err := filepath.Glob(filepath.Join(dir, "rules", "*.yml"))
			require.NoError(t, err)
			require.Greater(t, len(rules), 5)
			for _, f := range rules {
				_, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
				require.Empty(t, errs, f)
			}

			am, err := amconfig.LoadFile(filepath.Join(dir, "alertmanager.yml"))
			require.NoError(t, err)
			require.Equal(t, receiverLatency, am.Route.Routes[0].Receiver)
			for _, r := range am.Receivers {
				require.Len(t, r.WebhookConfigs, 1, r.Name)
				require.Empty(t, r.SlackConfigs, r.Name)
			}
		})
	}
}

func TestParseProc(t *testing.T) {
	m, err := parseStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t  768 kB\nRssFile:\t  256 kB\n"))
	require.NoError(t, err)
	require.Equal(t, ProcMem{RSS: 1 << 20, Peak: 2 << 20, Anon: 768 << 10, File: 256 << 10}, m)
	cpu, err := parseStat([]byte("42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0"))
	require.NoError(t, err)
	require.InDelta(t, 2.0, cpu, 1e-9)

	// This process, for real.
	m, err = readMem(os.Getpid())
	require.NoError(t, err)
	require.NotZero(t, m.RSS)
	_, err = readCPU(os.Getpid())
	require.NoError(t, err)
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	require.Equal(t, 3.0, quantile(xs, 0.5))
	require.Equal(t, 5.0, quantile(xs, 0.99))
	require.Equal(t, 1.0, quantile(xs, 0))
}

func TestSumMetric(t *testing.T) {
	body := []byte("# HELP x_total help\n# TYPE x_total counter\nx_total{type=\"float\"} 2\nx_total{type=\"histogram\"} 3\nx_total_created 9\nx 7\n")
	v, err := sumMetric(body, "x_total")
	require.NoError(t, err)
	require.Equal(t, 5.0, v)
	v, err = sumMetric(body, "x")
	require.NoError(t, err)
	require.Equal(t, 7.0, v)
	_, err = sumMetric(body, "y")
	require.Error(t, err)
}

// TestWriteConfigVictoriaMetrics checks the scrape configuration VictoriaMetrics reads: the
// same jobs as Prometheus', its three self-scrape jobs, nothing promscrape does not read,
// and no external labels (promscrape would store them on every series). With the binary
// built (make bench-vm), VictoriaMetrics' own strict parser checks the file too.
func TestWriteConfigVictoriaMetrics(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteConfig(dir, ConfigParams{
		Source:         "../configs",
		ScrapeInterval: 15 * time.Second,
		EvalInterval:   15 * time.Second,
		Targets:        []TargetGroup{{Targets: []string{"127.0.0.1:20002"}, Labels: map[string]string{"job": "smm-bench"}}},
		Webhook:        "http://127.0.0.1:20200/hook",
		VM:             &VMAddrs{VictoriaMetrics: "127.0.0.1:18428", VMAlert: "127.0.0.1:18880", Alertmanager: "127.0.0.1:19093"},
	}))
	path := filepath.Join(dir, "prometheus.yml")
	doc, err := loadYAML(path)
	require.NoError(t, err)
	keys := []string{}
	for k := range doc {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"global", "scrape_configs"}, keys)
	require.Equal(t, map[string]any{"scrape_interval": "15s", "scrape_timeout": "10s"}, doc["global"])
	cfg, err := promconfig.LoadFile(path, false, promslog.NewNopLogger())
	require.NoError(t, err)
	jobs := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		jobs[sc.JobName] = true
	}
	for _, j := range []string{"smm-connectors", "smm-bench", "victoria-metrics", "vmalert", "alertmanager"} {
		require.True(t, jobs[j], j)
	}
	require.False(t, jobs["prometheus"])

	labels, err := ExternalLabels("../configs")
	require.NoError(t, err)
	require.Equal(t, []string{"environment=production"}, labels)

	vm := "../bin/peer/victoria-metrics"
	if _, err := os.Stat(vm); err != nil {
		t.Skip("no bin/peer/victoria-metrics (make bench-vm): VictoriaMetrics' own parser not run")
	}
	out, err := exec.Command(vm, "-promscrape.config", path, "-promscrape.config.strictParse", "-dryRun").CombinedOutput()
	require.NoError(t, err, "%s", out)
}
