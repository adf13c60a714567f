package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const scaleSeries, scaleTargets = 100000, 10

// scaleConfig scrapes only the simulator's synthetic series (job smm-bench, from the
// file_sd file the test writes), every 5 s, with no rules.
const scaleConfig = `global:
  scrape_interval: 5s
  scrape_timeout: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: smm-bench
    file_sd_configs:
      - files: [targets/*.json]
`

// TestScale has the simulator serve 100k series over 10 targets and requires the
// appliance to ingest every one of them into its head block.
func TestScale(t *testing.T) {
	sim := startSimulator(t, "--series", strconv.Itoa(scaleSeries), "--series.targets", strconv.Itoa(scaleTargets))
	cfg := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "prometheus.yml"), []byte(scaleConfig), 0o644))
	n := sim.writeTargets(t, filepath.Join(cfg, "targets", "bench.json"), func(job string) bool { return job == "smm-bench" })
	require.Equal(t, scaleTargets, n)

	start := time.Now()
	a := startAppliance(t, cfg, t.TempDir(), nil)
	ready := time.Since(start)

	var tsdb struct {
		Data struct {
			HeadStats struct {
				NumSeries int `json:"numSeries"`
			} `json:"headStats"`
		} `json:"data"`
	}
	waitFor(t, 3*time.Minute, "100k series in the head", func() bool {
		getJSON(t, a.web+"/api/v1/status/tsdb", &tsdb)
		return tsdb.Data.HeadStats.NumSeries >= scaleSeries
	})
	// Every synthetic series, not only enough series counting the appliance's own.
	// A series enters the head when its scrape's appender creates it and becomes
	// queryable when that appender commits, so the count is waited for too.
	waitFor(t, time.Minute, "100k synthetic series queryable", func() bool {
		r := query(t, a, `count(smm_bench_series_value)`, time.Time{})
		return len(r) == 1 && r[0].Value[1] == strconv.Itoa(scaleSeries)
	})
	ingested := time.Since(start)
	r := query(t, a, `count(up{job="smm-bench"} == 1)`, time.Time{})
	require.Len(t, r, 1)
	require.Equal(t, strconv.Itoa(scaleTargets), r[0].Value[1])
	var dur struct {
		Data struct {
			ActiveTargets []struct {
				LastScrapeDuration float64 `json:"lastScrapeDuration"`
				Labels             map[string]string
			} `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/targets?state=active", &dur)
	var slowest float64
	for _, tg := range dur.Data.ActiveTargets {
		if tg.Labels["job"] == "smm-bench" {
			slowest = max(slowest, tg.LastScrapeDuration)
		}
	}
	t.Logf("%d series over %d targets: appliance ready after %s, head holds them %s after start (head series %d, slowest scrape %.3fs)",
		scaleSeries, scaleTargets, ready.Round(time.Millisecond), ingested.Round(time.Millisecond),
		tsdb.Data.HeadStats.NumSeries, slowest)
}
