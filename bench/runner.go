package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configures Run.
type Options struct {
	Profile   Profile
	Systems   []*System // the first is the baseline (the appliance)
	Simulator string    // smm-simulator binary
	Configs   string    // the shipped configuration directory
	WorkDir   string    // where configs, data and logs go; removed unless Keep
	Keep      bool
	Command   string   // the command line, recorded with the results
	Only      []string // run only scenarios whose name contains one of these
	Progress  io.Writer
}

type runner struct {
	opts    Options
	res     *Results
	harness *harness
}

// Run measures every system of opts on every run of the profile, one system after the
// other on the same simulator, and returns the results. A system that fails a run is
// recorded in Errors and the run goes on with the next one.
func Run(ctx context.Context, opts Options) (*Results, error) {
	start := time.Now()
	for _, s := range opts.Systems {
		s.Probe()
	}
	r := &runner{opts: opts, res: &Results{
		Date:     start.UTC().Format(time.RFC3339),
		Command:  opts.Command,
		Profile:  opts.Profile,
		Machine:  machine(),
		Systems:  opts.Systems,
		Skipped:  opts.Profile.Skipped,
		Baseline: opts.Systems[0].Name,
	}}
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, err
	}
	if !opts.Keep {
		defer os.RemoveAll(opts.WorkDir)
	}
	h, err := newHarness(max(opts.Profile.LatencyAlerts, 1))
	if err != nil {
		return nil, err
	}
	defer h.close()
	r.harness = h

	for _, run := range opts.Profile.Ingest {
		if !r.selected(run.Name()) {
			continue
		}
		r.withSimulator(ctx, run.Name(), run.Series, func(sim *simulator, sys *System) error {
			return r.ingest(ctx, sim, sys, run)
		})
	}
	if r.selected("alerts") {
		r.withSimulator(ctx, "alerts", opts.Profile.StormRule, func(sim *simulator, sys *System) error {
			if err := r.alerts(ctx, sim, sys); err != nil {
				return err
			}
			if opts.Profile.StormAPIGrouped == 0 {
				return nil
			}
			return r.groupedStorm(ctx, sim, sys)
		})
	}
	r.derive()
	r.res.Machine.LoadEnd = loadavg()
	r.res.Seconds = time.Since(start).Seconds()
	return r.res, ctx.Err()
}

func (r *runner) selected(name string) bool {
	if len(r.opts.Only) == 0 {
		return true
	}
	for _, o := range r.opts.Only {
		if strings.Contains(name, o) {
			return true
		}
	}
	return false
}

func (r *runner) logf(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// withSimulator starts one simulator for a run and measures every system on it in turn.
func (r *runner) withSimulator(ctx context.Context, name string, series int, measure func(*simulator, *System) error) {
	dir := filepath.Join(r.opts.WorkDir, slug(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.fail(name, "simulator", err)
		return
	}
	sim, err := startSimulator(ctx, r.opts.Simulator, filepath.Join(dir, "simulator.log"), series)
	if err != nil {
		r.fail(name, "simulator", err)
		return
	}
	defer sim.stop()
	for _, sys := range r.opts.Systems {
		if ctx.Err() != nil {
			return
		}
		r.logf("%s: %s", name, sys.Name)
		if err := measure(sim, sys); err != nil {
			r.fail(name, sys.Name, err)
		}
	}
}

func (r *runner) fail(scenario, system string, err error) {
	msg := fmt.Sprintf("%s, %s: %v", scenario, system, err)
	r.logf("ERROR %s", msg)
	r.res.Errors = append(r.res.Errors, msg)
}

func slug(s string) string {
	return strings.NewReplacer(" ", "-", "@", "", "/", "-").Replace(s)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// waitUntil polls cond every 50 ms until it holds, ctx ends or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || sleep(ctx, 50*time.Millisecond) != nil {
			return false
		}
	}
	return true
}

// ingest measures one system on one ingest run: memory, CPU per sample and bytes per
// series over the window, then (per the run) rule evaluations, queries and a restart.
func (r *runner) ingest(ctx context.Context, sim *simulator, sys *System, run IngestRun) error {
	scenario := run.Name()
	dir := filepath.Join(r.opts.WorkDir, slug(scenario), sys.Name)
	in, err := startSystem(ctx, sys, dir, ConfigParams{
		Source:         r.opts.Configs,
		ScrapeInterval: run.Interval,
		EvalInterval:   run.Interval,
		Targets:        sim.targets,
		Webhook:        r.harness.webhookURL(),
	})
	if err != nil {
		return err
	}
	defer in.stop()
	ready := time.Since(in.started)

	// The window opens after the warmup, once every synthetic series is in the head.
	if err := sleep(ctx, run.Warmup); err != nil {
		return err
	}
	var head float64
	if !waitUntil(ctx, 3*time.Minute, func() bool {
		head, _ = in.headSeries(ctx)
		return head >= float64(run.Series)
	}) {
		return fmt.Errorf("head holds %.0f series, want %d", head, run.Series)
	}

	u0, err := in.usage()
	if err != nil {
		return err
	}
	s0, err := in.samplesAppended(ctx)
	if err != nil {
		return err
	}
	opens := u0.At.Sub(in.started)
	rss := startRSSSampler(ctx, in, time.Second)
	rules := startRulePoller(ctx, in.rules, min(run.Interval/3, 2*time.Second))
	if err := sleep(ctx, run.Window); err != nil {
		return err
	}
	evals, ruleErrs := rules.stop()
	rssSamples := rss.stop()
	u1, err := in.usage()
	if err != nil {
		return err
	}
	s1, err := in.samplesAppended(ctx)
	if err != nil {
		return err
	}
	head, err = in.headSeries(ctx)
	if err != nil {
		return err
	}

	window := u1.At.Sub(u0.At).Seconds()
	samples := s1 - s0
	steady := median(rssSamples)
	cpu, tsdbCPU := u1.CPU-u0.CPU, u1.TSDBCPU-u0.TSDBCPU
	set := func(name, unit string, v float64) { r.res.set(scenario, name, unit, true, sys.Name, v) }
	set("peak RSS", "MB", float64(u1.Mem.Peak)/mb)
	set("steady RSS", "MB", steady/mb)
	set("bytes per series", "B", steady/head)
	set("CPU per M samples", "s", cpu/(samples/1e6))
	set(cpuTSDBFigure, "s", tsdbCPU/(samples/1e6))
	set("CPU used", "cores", cpu/window)
	r.res.set(scenario, "samples ingested", "/s", false, sys.Name, samples/window)
	// Every figure above is over this window: VictoriaMetrics registers new series
	// expensively at first, so the window opens after the warmup and once every series is
	// stored, and its place is part of the figure.
	r.res.setInfo(scenario, "window (opens after start)", "s", sys.Name, window, fmt.Sprintf("%.0f (%.0f)", window, opens.Seconds()))

	data := map[string]any{
		"ready_seconds":                    ready.Seconds(),
		"window_seconds":                   window,
		"head_series":                      head,
		"samples_appended":                 samples,
		"cpu_seconds":                      cpu,
		"tsdb_cpu_seconds":                 tsdbCPU,
		"rss_samples_bytes":                rssSamples,
		"peak_rss_bytes":                   u1.Mem.Peak,
		"tsdb_peak_rss_bytes":              u1.TSDBMem.Peak,
		"tsdb_rss_bytes":                   u1.TSDBMem.RSS,
		"tsdb_rss_anon_bytes":              u1.TSDBMem.Anon,
		"tsdb_rss_file_bytes":              u1.TSDBMem.File,
		"rule_poll_errors":                 ruleErrs,
		"window_opens_after_start_seconds": opens.Seconds(),
	}
	smm := r.ruleFigures(evals, data)
	if run.Rules {
		name := fmt.Sprintf("SMM rules at %s series (eval %s)", count(run.Series), run.Interval)
		r.res.set(name, "group eval p50", "ms", true, sys.Name, quantile(smm, 0.5)*1000)
		r.res.set(name, "group eval p99", "ms", true, sys.Name, quantile(smm, 0.99)*1000)
		r.res.set(name, "group evaluations seen", "", false, sys.Name, float64(len(smm)))
	}
	if run.Queries {
		if err := r.queries(ctx, in, sys, run, data); err != nil {
			return err
		}
	}
	if run.Disk {
		// After the window, queries included: compaction costs CPU and memory.
		total, err := in.samplesAppended(ctx)
		if err != nil {
			return err
		}
		du, err := in.compactedDisk(ctx)
		if err != nil {
			return fmt.Errorf("disk: %w", err)
		}
		set("bytes on disk per sample", "B", float64(du.Bytes)/total)
		set("bytes on disk per series", "B", float64(du.Bytes)/head)
		data["disk_bytes"], data["disk_samples"], data["disk_how"] = du.Bytes, total, du.How
	}
	if run.Restart {
		r.logf("%s: %s: kill -9 with %.0f series in the head", scenario, sys.Name, head)
		d, err := in.restartTSDB(ctx, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		name := fmt.Sprintf("restart after kill -9 (%s series in the WAL)", count(run.Series))
		r.res.set(name, "time to ready", "s", true, sys.Name, d.Seconds())
		data["restart_seconds"] = d.Seconds()
		data["restart_head_series"] = head
	}
	r.res.detail(scenario, sys.Name, data)
	return nil
}

// ruleFigures stores the per-group evaluation durations in data and returns those of the
// shipped SMM groups (not the benchmark's own).
func (r *runner) ruleFigures(evals map[string][]float64, data map[string]any) []float64 {
	var smm []float64
	perGroup := map[string]map[string]any{}
	for g, xs := range evals {
		perGroup[g] = map[string]any{"n": len(xs), "p50_ms": finite(quantile(xs, 0.5) * 1000), "p99_ms": finite(quantile(xs, 0.99) * 1000)}
		if !strings.HasPrefix(g, "smm_bench") {
			smm = append(smm, xs...)
		}
	}
	data["rule_groups"] = perGroup
	return smm
}

// dashboardQueries are what the SMM dashboards ask, and three aggregations over every
// synthetic series (a dashboard panel over a big exporter).
var dashboardQueries = []string{
	`sum by (group) (smm_bench_series_value)`,
	`topk(10, smm_bench_series_value)`,
	`sum by (shard) (avg_over_time(smm_bench_series_value[1m]))`,
	`sum by (connector) (rate(smm_connector_requests_total{outcome="error"}[5m])) / sum by (connector) (rate(smm_connector_requests_total[5m]))`,
	`histogram_quantile(0.95, sum by (le, connector) (rate(smm_connector_request_duration_seconds_bucket[5m])))`,
	`sum by (workspace) (smm_budget_spent_dollars) / sum by (workspace) (smm_budget_allocated_dollars)`,
	`sum by (job) (up)`,
}

// queries runs each dashboard query QueryReps times as a 5-minute range query.
func (r *runner) queries(ctx context.Context, in *instance, sys *System, run IngestRun, data map[string]any) error {
	step := max(run.Interval, 15*time.Second)
	var all []float64
	perQuery := map[string][]float64{}
	for range r.opts.Profile.QueryReps {
		end := time.Now()
		for _, q := range dashboardQueries {
			d, err := rangeQuery(ctx, in.web, q, end.Add(-5*time.Minute), end, step)
			if err != nil {
				return err
			}
			all = append(all, ms(d))
			perQuery[q] = append(perQuery[q], ms(d))
		}
	}
	name := fmt.Sprintf("dashboard queries at %s series (5m range)", count(run.Series))
	r.res.set(name, "query p50", "ms", true, sys.Name, quantile(all, 0.5))
	r.res.set(name, "query p99", "ms", true, sys.Name, quantile(all, 0.99))
	p50 := map[string]float64{}
	for q, xs := range perQuery {
		p50[q] = quantile(xs, 0.5) // never empty: every query ran QueryReps times
	}
	data["query_p50_ms"] = p50
	return nil
}

// startAlertRun starts sys with the alert runs' configuration: scrape and evaluation every
// second, the harness as exporter and webhook, the benchmark's rules.
func (r *runner) startAlertRun(ctx context.Context, sim *simulator, sys *System, dirName string) (*instance, error) {
	return startSystem(ctx, sys, filepath.Join(r.opts.WorkDir, "alerts", dirName), ConfigParams{
		Source:         r.opts.Configs,
		ScrapeInterval: time.Second,
		EvalInterval:   time.Second,
		Targets:        sim.targets,
		Exporter:       r.harness.addr,
		Webhook:        r.harness.webhookURL(),
		BenchRules:     true,
	})
}

// alerts measures one system on the alert run: end-to-end latency of threshold crossings,
// then a storm from one rule, then a storm POSTed to the v2 API.
func (r *runner) alerts(ctx context.Context, sim *simulator, sys *System) error {
	p := r.opts.Profile
	h := r.harness
	h.reset()
	in, err := r.startAlertRun(ctx, sim, sys, sys.Name)
	if err != nil {
		return err
	}
	defer in.stop()
	data := map[string]any{}
	defer func() { r.res.detail("alerts", sys.Name, data) }()

	// Every synthetic series and the harness target are scraped, and the rules have run.
	if !waitUntil(ctx, 2*time.Minute, func() bool {
		n, _ := instantQuery(ctx, in.web, `count(smm_bench_series_value)`)
		return n >= float64(sim.series) && h.scrapes.Load() >= 2
	}) {
		return fmt.Errorf("synthetic series or harness target not scraped")
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}

	// End-to-end latency: crossings spread over the scrape and evaluation phases.
	const latency = "end-to-end latency (scrape 1s, eval 1s, group_wait 0)"
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p.LatencyAlerts {
		if err := sleep(ctx, time.Duration(300+rng.IntN(400))*time.Millisecond); err != nil {
			return err
		}
		h.trigger(i)
	}
	waitUntil(ctx, 30*time.Second, func() bool { return h.count(receiverLatency) >= p.LatencyAlerts })
	got, sent, fired := h.arrivals(receiverLatency), h.triggerTimes(), h.firedAt(receiverLatency)
	var lat, handoff []float64
	for id, t := range sent {
		if a, ok := got[id]; ok {
			lat = append(lat, ms(a.Sub(t)))
			// The part after the evaluation that fired the alert: hand-off
			// to the Alertmanager, dispatch, webhook. The part before it
			// is the wait for the next scrape and the next evaluation,
			// whose phases differ by system and run (they hash the
			// configuration and the target's address).
			if f := fired[id]; !f.IsZero() {
				handoff = append(handoff, ms(a.Sub(f)))
			}
		}
	}
	set := func(scenario, name, unit string, v float64) { r.res.set(scenario, name, unit, true, sys.Name, v) }
	set(latency, "p50", "ms", quantile(lat, 0.5))
	set(latency, "p95", "ms", quantile(lat, 0.95))
	set(latency, "max", "ms", quantile(lat, 1))
	set(latency, "not delivered in 30s", "alerts", float64(len(sent)-len(lat)))
	set(latency, "evaluation → webhook p50", "ms", quantile(handoff, 0.5))
	set(latency, "evaluation → webhook p95", "ms", quantile(handoff, 0.95))
	data["latency_ms"] = lat
	data["evaluation_to_webhook_ms"] = handoff

	// Storm from one rule over every synthetic series.
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	storm := fmt.Sprintf("alert storm: %s alerts from one rule", count(p.StormRule))
	d, lost, err := r.storm(ctx, in, receiverStorm, p.StormRule, func() time.Time { return h.setStorm(true) }, storm, sys, data)
	if err != nil {
		return err
	}
	r.logf("%s: %s: %s: %.1fs, %d not delivered", "alerts", sys.Name, storm, d.Seconds(), lost)

	// Storm POSTed to the Alertmanager v2 API, one notification per alert.
	if p.StormAPI > 0 && sys.IsVM() {
		name := fmt.Sprintf("alert storm: %s alerts POSTed to the v2 API", count(p.StormAPI))
		r.res.notApplicable(name, sys.Name, sameAlertmanager(sys, r.opts.Systems))
	} else if p.StormAPI > 0 {
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		name := fmt.Sprintf("alert storm: %s alerts POSTed to the v2 API", count(p.StormAPI))
		if err := r.apiStorm(ctx, in, sys, receiverAPI, p.StormAPI, name, data); err != nil {
			return err
		}
	}
	data["webhook_notifications"] = h.notifications.Load()
	data["webhook_alerts"] = h.alerts.Load()
	data["webhook_bad_requests"] = h.badRequests.Load()
	return nil
}

// cpuTSDBFigure is CPU per sample of the process holding the TSDB alone: the appliance,
// Prometheus, VictoriaMetrics (issue 19 compares with Prometheus).
const cpuTSDBFigure = "CPU per M samples (peer: Prometheus / VictoriaMetrics only)"

// lostFigure counts a storm's alerts not delivered when the harness stopped waiting
// (Profile.StormTimeout).
const lostFigure = "not delivered (lost or late)"

// apiStorm POSTs n alerts for receiver and records the storm's figures under name.
func (r *runner) apiStorm(ctx context.Context, in *instance, sys *System, receiver string, n int, name string, data map[string]any) error {
	var postErr error
	var posted time.Duration
	pctx, cancel := context.WithTimeout(ctx, r.opts.Profile.StormTimeout)
	defer cancel()
	t0 := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		postErr = postAlerts(pctx, in.am, n, receiver == receiverGrouped)
		posted = time.Since(t0)
	}()
	d, lost, err := r.storm(ctx, in, receiver, n, func() time.Time { return t0 }, name, sys, data)
	cancel()
	<-done
	if err != nil {
		return err
	}
	if postErr != nil && !errors.Is(postErr, context.DeadlineExceeded) && !errors.Is(postErr, context.Canceled) {
		return postErr
	}
	data[receiver+"_post_seconds"] = posted.Seconds()
	data[receiver+"_post_complete"] = postErr == nil
	r.logf("alerts: %s: %s: %.1fs (POST %.1fs), %d not delivered", sys.Name, name, d.Seconds(), posted.Seconds(), lost)
	return nil
}

// groupedStorm measures the grouped API storm on a fresh instance of the system, so that
// neither the earlier storms' alerts weigh on it nor it on them.
func (r *runner) groupedStorm(ctx context.Context, sim *simulator, sys *System) error {
	p := r.opts.Profile
	name := fmt.Sprintf("alert storm: %s alerts POSTed to the v2 API, %d groups (group_wait 5s)", count(p.StormAPIGrouped), stormGroups)
	if sys.IsVM() {
		r.res.notApplicable(name, sys.Name, sameAlertmanager(sys, r.opts.Systems))
		return nil
	}
	h := r.harness
	h.reset()
	in, err := r.startAlertRun(ctx, sim, sys, sys.Name+"-grouped")
	if err != nil {
		return err
	}
	defer in.stop()
	data := map[string]any{}
	defer func() { r.res.detail("alerts, grouped storm", sys.Name, data) }()
	if err := sleep(ctx, 3*time.Second); err != nil {
		return err
	}
	if err := r.apiStorm(ctx, in, sys, receiverGrouped, p.StormAPIGrouped, name, data); err != nil {
		return err
	}
	data["webhook_notifications"] = h.notifications.Load()
	data["webhook_alerts"] = h.alerts.Load()
	return nil
}

// storm starts a storm with begin and waits until receiver has every one of n alerts or
// the profile's timeout passes, counted from the storm's start: the time to the last
// arrival, the alerts never received, the system's peak RSS and the CPU it spent.
func (r *runner) storm(ctx context.Context, in *instance, receiver string, n int, begin func() time.Time, scenario string, sys *System, data map[string]any) (time.Duration, int, error) {
	h := r.harness
	u0, err := in.usage()
	if err != nil {
		return 0, 0, err
	}
	t0 := begin()
	waitUntil(ctx, time.Until(t0.Add(r.opts.Profile.StormTimeout)), func() bool { return h.count(receiver) >= n })
	u1, err := in.usage()
	if err != nil {
		return 0, 0, err
	}
	var last time.Time
	var after []float64
	for _, t := range h.arrivals(receiver) {
		if t.After(last) {
			last = t
		}
		after = append(after, t.Sub(t0).Seconds())
	}
	got := h.count(receiver)
	d := last.Sub(t0)
	if got < n {
		d = time.Since(t0) // never completed: the time waited
	}
	lost := n - got
	set := func(name, unit string, v float64) { r.res.set(scenario, name, unit, true, sys.Name, v) }
	set("time to all delivered", "s", d.Seconds())
	set(lostFigure, "alerts", float64(lost))
	set("peak RSS", "MB", float64(u1.Mem.Peak)/mb)
	set("CPU used", "s", u1.CPU-u0.CPU)
	data[receiver] = map[string]any{
		"n": n, "received": got, "seconds": d.Seconds(), "complete": got >= n,
		"arrival_p50_seconds": finite(quantile(after, 0.5)), "arrival_p90_seconds": finite(quantile(after, 0.9)),
		"notifications_so_far": h.notifications.Load(),
	}
	return d, lost, nil
}

// derive adds figures computed from others: how memory grows between ingest sizes.
func (r *runner) derive() {
	var runs []IngestRun
	for _, run := range r.opts.Profile.Ingest {
		if run.Interval == 15*time.Second && r.figure(run.Name(), "steady RSS") != nil {
			runs = append(runs, run)
		}
	}
	for i := 1; i < len(runs); i++ {
		a, b := r.figure(runs[i-1].Name(), "steady RSS"), r.figure(runs[i].Name(), "steady RSS")
		scenario := fmt.Sprintf("growth %s → %s series @15s", count(runs[i-1].Series), count(runs[i].Series))
		for sys, vb := range b.Values {
			va, ok := a.Values[sys]
			if !ok {
				continue
			}
			r.res.set(scenario, "RSS added per series", "B", true, sys, (vb-va)*mb/float64(runs[i].Series-runs[i-1].Series))
			r.res.set(scenario, "RSS ratio", "×", true, sys, vb/va)
			ca, cb := r.figure(runs[i-1].Name(), "CPU used"), r.figure(runs[i].Name(), "CPU used")
			if ca != nil && cb != nil && ca.Values[sys] > 0 {
				r.res.set(scenario, "CPU ratio", "×", true, sys, cb.Values[sys]/ca.Values[sys])
			}
		}
	}
}

func (r *runner) figure(scenario, name string) *Figure { return r.res.figure(scenario, name) }

// sameAlertmanager says why a storm POSTed to the Alertmanager API is not measured for the
// VictoriaMetrics stack: the POSTs go straight to its Alertmanager, which is a binary
// another peer already runs.
func sameAlertmanager(sys *System, all []*System) string {
	why := "POSTed straight to the Alertmanager, which in this stack is " + sys.Alertmanager
	for _, o := range all {
		if o != sys && o.Alertmanager == sys.Alertmanager {
			return why + ", the one " + o.Name + " runs: see " + o.Name + "'s figures"
		}
	}
	return why
}
