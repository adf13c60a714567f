package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/appliance"
	simpkg "github.com/smm-architect/smm-appliance/simulator"
)

// startInProcess runs the appliance in this process on 127.0.0.1:0 with the benchmark's
// configuration (no scrape targets) and h as every receiver, for CPU and heap profiles of
// paths the binary does not expose pprof for.
func startInProcess(tb testing.TB, h *harness) (web, am string) {
	return startInProcessWith(tb, h, ConfigParams{ScrapeInterval: 15 * time.Second, EvalInterval: 15 * time.Second, BenchRules: true})
}

// startInProcessWith is startInProcess with the intervals, targets and rules of p (the
// ingest benchmark leaves out the storm rule, as smm-bench's ingest runs do).
func startInProcessWith(tb testing.TB, h *harness, p ConfigParams) (web, am string) {
	tb.Helper()
	// Not tb.TempDir: its cleanup fails the benchmark when a file appears during removal.
	dir, err := os.MkdirTemp("", "smm-bench-inprocess-")
	require.NoError(tb, err)
	p.Source, p.Webhook = "../configs", h.webhookURL()
	require.NoError(tb, WriteConfig(filepath.Join(dir, "config"), p))
	var o appliance.Options
	app := kingpin.New("bench", "")
	o.RegisterFlags(app)
	_, err = app.Parse([]string{
		"--config.dir", filepath.Join(dir, "config"), "--storage.path", filepath.Join(dir, "data"),
		"--web.listen-address", "127.0.0.1:0", "--alertmanager.listen-address", "127.0.0.1:0",
	})
	require.NoError(tb, err)
	a, err := appliance.New(o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		if err := os.RemoveAll(dir); err != nil {
			// Something still wrote into the data directory after Run returned.
			time.Sleep(time.Second)
			tb.Logf("remove %s after Run returned: %v (retry: %v)", dir, err, os.RemoveAll(dir))
		}
	})
	web, am = "http://"+a.Addr().String(), "http://"+a.AlertmanagerAddr().String()
	require.True(tb, waitUntil(ctx, time.Minute, func() bool {
		code, _, err := httpGet(ctx, web+"/-/ready")
		return err == nil && code == http.StatusOK
	}), "appliance not ready")
	return web, am
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkInProcessAPIStorm POSTs SMM_BENCH_STORM alerts (default 2000) to the in-process
// appliance's v2 API, one notification per alert, and waits until the webhook has them
// all. Profile it with
//
//	go test ./bench -run '^$' -bench InProcessAPIStorm -benchtime 1x -cpuprofile cpu.out -memprofile mem.out
//
// (see docs/benchmarks.md, Findings). The figure to compare is what smm-bench prints
// against the peer; this benchmark is for profiles.
func BenchmarkInProcessAPIStorm(b *testing.B) {
	n := envInt("SMM_BENCH_STORM", 2000)
	grouped := os.Getenv("SMM_BENCH_GROUPED") != ""
	receiver := receiverAPI
	if grouped {
		receiver = receiverGrouped
	}
	h, err := newHarness(1)
	require.NoError(b, err)
	defer h.close()
	_, am := startInProcess(b, h)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.reset()
		// Fresh alerts each round: a new storm_id range per round.
		require.NoError(b, postAlertsFrom(ctx, am, i*n, n, grouped))
		if !waitUntil(ctx, 10*time.Minute, func() bool { return h.count(receiver) >= n }) {
			b.Fatalf("%d of %d alerts delivered", h.count(receiver), n)
		}
	}
	b.ReportMetric(float64(n), "alerts/op")
}

// TestInProcessSmoke keeps the in-process setup working: a few alerts reach the webhook.
func TestInProcessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the appliance")
	}
	h, err := newHarness(1)
	require.NoError(t, err)
	defer h.close()
	_, am := startInProcess(t, h)
	require.NoError(t, postAlertsFrom(context.Background(), am, 0, 5, false))
	require.True(t, waitUntil(context.Background(), 30*time.Second, func() bool { return h.count(receiverAPI) >= 5 }),
		fmt.Sprintf("%d of 5 delivered", h.count(receiverAPI)))
}

// BenchmarkInProcessIngest runs the appliance in this process scraping an in-process
// simulator with SMM_BENCH_SERIES synthetic series (default 100k) every
// SMM_BENCH_INTERVAL seconds (default 1), for SMM_BENCH_SECONDS (default 20) per op, to
// profile ingestion:
//
//	go test ./bench -run '^$' -bench InProcessIngest -benchtime 1x -cpuprofile cpu.out
//
// SMM_BENCH_CPU=FILE writes a CPU profile of the ops only (the steady state).
// SMM_BENCH_HEAP=FILE writes a heap profile (after a GC) at the end of the last op,
// while the appliance still holds everything (-memprofile is written after it stopped).
// The simulator shares the process, so its rendering shows in the profiles too
// (simulator.(*benchTarget).ServeHTTP); everything else is the appliance's.
func BenchmarkInProcessIngest(b *testing.B) {
	series := envInt("SMM_BENCH_SERIES", 100000)
	seconds := envInt("SMM_BENCH_SECONDS", 20)
	interval := time.Duration(envInt("SMM_BENCH_INTERVAL", 1)) * time.Second
	opts := simpkg.DefaultOptions()
	opts.BasePort, opts.ControlAddress = 0, ""
	opts.Series, opts.SeriesTargets = series, max(1, series/seriesPerTarget)
	opts.Seed = 1
	sim, err := simpkg.New(opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(b, err)
	require.NoError(b, sim.Start())
	defer sim.Stop()
	var targets []TargetGroup
	for _, j := range sim.Jobs() {
		targets = append(targets, TargetGroup{Targets: j.Addresses, Labels: map[string]string{"job": j.Name}})
	}
	h, err := newHarness(1)
	require.NoError(b, err)
	defer h.close()
	web, _ := startInProcessWith(b, h, ConfigParams{ScrapeInterval: interval, EvalInterval: interval, Targets: targets})
	ctx := context.Background()
	require.True(b, waitUntil(ctx, 2*time.Minute, func() bool {
		n, _ := metricSum(ctx, web, "prometheus_tsdb_head_series")
		return n >= float64(series)
	}), "series not ingested")
	b.ResetTimer()
	s0, err := metricSum(ctx, web, "prometheus_tsdb_head_samples_appended_total")
	require.NoError(b, err)
	// SMM_BENCH_CPU=FILE profiles the steady state only: not the start (WAL, API
	// documents) nor the first scrapes that create the series, which -cpuprofile holds.
	if path := os.Getenv("SMM_BENCH_CPU"); path != "" {
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Duration(seconds) * time.Second)
	}
	s1, err := metricSum(ctx, web, "prometheus_tsdb_head_samples_appended_total")
	require.NoError(b, err)
	b.ReportMetric((s1-s0)/float64(b.N), "samples/op")
	if path := os.Getenv("SMM_BENCH_HEAP"); path != "" {
		b.StopTimer()
		runtime.GC()
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.WriteHeapProfile(f))
		require.NoError(b, f.Close())
	}
}
