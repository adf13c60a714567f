package bench

import (
	"os"
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
	m, err := parseStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"))
	require.NoError(t, err)
	require.Equal(t, ProcMem{RSS: 1 << 20, Peak: 2 << 20}, m)
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
