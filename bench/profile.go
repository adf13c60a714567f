package bench

import (
	"fmt"
	"time"
)

// IngestRun is one ingest run: a number of synthetic series scraped at an interval.
type IngestRun struct {
	Series   int           `json:"series"`
	Interval time.Duration `json:"interval"`
	// Warmup is the least time between ready and the measurement window; the window also
	// waits until every synthetic series is in the head.
	Warmup time.Duration `json:"warmup"`
	Window time.Duration `json:"window"`
	// Rules makes this run's rule group evaluations the figure "SMM rules"; Queries and
	// Restart add the query and restart measurements at the end of the run; Disk the
	// bytes on disk per sample after compaction.
	Rules, Queries, Restart, Disk bool
}

// Name is the run's scenario name, e.g. "ingest 100k @15s".
func (r IngestRun) Name() string { return fmt.Sprintf("ingest %s @%s", count(r.Series), r.Interval) }

// Profile sizes a benchmark invocation.
type Profile struct {
	Name   string      `json:"name"`
	Ingest []IngestRun `json:"ingest"`
	// QueryReps is how often each dashboard query runs per system.
	QueryReps int `json:"query_reps"`
	// LatencyAlerts threshold crossings are timed to the webhook, one every 300–700 ms.
	LatencyAlerts int `json:"latency_alerts"`
	// StormRule alerts fire at once from one rule over as many synthetic series, one
	// notification each. StormAPI alerts are POSTed to the Alertmanager v2 API, one
	// notification each; StormAPIGrouped alerts too, in 100 groups (notifications).
	StormRule       int `json:"storm_rule"`
	StormAPI        int `json:"storm_api"`
	StormAPIGrouped int `json:"storm_api_grouped"`
	// StormTimeout bounds each storm from its start (the first POST, the switch): alerts
	// not at the webhook by then count as not delivered.
	StormTimeout time.Duration `json:"storm_timeout"`
	// Skipped says what the issue asks for that this profile leaves out, and why.
	Skipped []string `json:"skipped,omitempty"`
}

// Profiles are the named sizes. default takes about 20–25 minutes on 2 cores with three
// peers (same-lib, debian, victoria-metrics); quick fits 3 minutes and only keeps the
// harness working. At 15 s scrape the windows hold at least four scrapes: CPU at 10k
// series is ~0.015 cores, and a 30 s window is ~45 clock ticks of it, too few to tell
// 10 % apart.
var Profiles = map[string]Profile{
	"quick": {
		Name: "quick",
		Ingest: []IngestRun{
			{Series: 5000, Interval: 2 * time.Second, Warmup: 3 * time.Second, Window: 6 * time.Second, Rules: true, Queries: true, Restart: true, Disk: true},
		},
		QueryReps:       3,
		LatencyAlerts:   10,
		StormRule:       500,
		StormAPI:        500,
		StormAPIGrouped: 2000,
		StormTimeout:    30 * time.Second,
		Skipped:         []string{"quick profile: small sizes only, to keep the harness working in CI; see make bench for the figures"},
	},
	"default": {
		Name: "default",
		Ingest: []IngestRun{
			{Series: 10000, Interval: 15 * time.Second, Warmup: 20 * time.Second, Window: 60 * time.Second, Disk: true},
			{Series: 100000, Interval: 15 * time.Second, Warmup: 45 * time.Second, Window: 60 * time.Second, Queries: true, Restart: true, Disk: true},
			{Series: 100000, Interval: time.Second, Warmup: 10 * time.Second, Window: 30 * time.Second, Rules: true, Disk: true},
		},
		QueryReps:       10,
		LatencyAlerts:   50,
		StormRule:       10000,
		StormAPI:        10000,
		StormAPIGrouped: 100000,
		StormTimeout:    90 * time.Second,
		Skipped: []string{
			"1M series (ingest, growth, restart with 1M series in the WAL): about 3 minutes per system on 2 cores (series creation, window, WAL replay), which does not fit make bench with three peers; run --profile full",
			"1M series at 1 s scrape: 1M samples/s is beyond 2 cores for either system and the simulator",
			"storms of 100k alerts with one notification per alert (rule and API): 4–5 minutes and several GB per system on 2 cores; run --profile full. The default storms are 10k alerts one notification each, and 100k alerts POSTed in 100 groups",
		},
	},
	"full": {
		Name: "full",
		Ingest: []IngestRun{
			{Series: 10000, Interval: 15 * time.Second, Warmup: 20 * time.Second, Window: 30 * time.Second, Disk: true},
			{Series: 100000, Interval: 15 * time.Second, Warmup: 30 * time.Second, Window: 60 * time.Second, Queries: true, Restart: true, Disk: true},
			{Series: 100000, Interval: time.Second, Warmup: 10 * time.Second, Window: 30 * time.Second, Rules: true, Disk: true},
			{Series: 1000000, Interval: 15 * time.Second, Warmup: 60 * time.Second, Window: 60 * time.Second, Restart: true, Disk: true},
		},
		QueryReps:       20,
		LatencyAlerts:   100,
		StormRule:       100000,
		StormAPI:        100000,
		StormAPIGrouped: 100000,
		StormTimeout:    5 * time.Minute,
		Skipped: []string{
			"1M series at 1 s scrape: 1M samples/s is beyond 2 cores for either system and the simulator",
		},
	},
}

// count prints 10000 as 10k and 1000000 as 1M.
func count(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
