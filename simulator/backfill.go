package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// backfillBlock is the range of each block written: Prometheus' head block
// range, so the appliance's compactor treats them as its own.
const backfillBlock = 2 * time.Hour

// BackfillOptions configure the history written before the live run.
type BackfillOptions struct {
	// Dir is the appliance's TSDB directory (<storage.path>/tsdb); empty:
	// no backfill.
	Dir      string
	Duration time.Duration
	Step     time.Duration
}

// BackfillResult says what a backfill wrote.
type BackfillResult struct {
	Blocks  int
	Samples int
	From    time.Time
	To      time.Time
}

// Backfill moves the simulated clock from where it stands (set Options.Start
// that far in the past) to until in steps of step, and writes every
// platform job's series at each step into TSDB blocks in dir, labelled as
// the appliance's scrape labels them (job and instance: Options.Host and
// the job's port). Run before the appliance opens dir and before Start: the
// live run then continues the same models (counters keep counting), and the
// appliance's head starts after the last backfilled sample, so nothing is
// out of order. dir is the TSDB directory (<storage.path>/tsdb).
func (s *Simulator) Backfill(ctx context.Context, dir string, until time.Time, step time.Duration) (BackfillResult, error) {
	var res BackfillResult
	if step <= 0 {
		return res, errors.New("backfill step must be positive")
	}
	if s.opts.BasePort <= 0 {
		return res, errors.New("backfill needs a fixed --listen.base-port: the instance label names the port")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return res, fmt.Errorf("create %s: %w", dir, err)
	}
	targets := make([]labels.Labels, len(JobNames))
	for i, job := range JobNames {
		targets[i] = labels.FromStrings("job", job, "instance", net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.BasePort+i)))
	}
	logger := slog.New(slog.DiscardHandler)
	res.From = s.Now()

	var w *tsdb.BlockWriter
	var blockEnd time.Time
	flush := func() error {
		if w == nil {
			return nil
		}
		id, err := w.Flush(ctx)
		cerr := w.Close()
		w = nil
		if err != nil && !errors.Is(err, tsdb.ErrNoSeriesAppended) {
			return fmt.Errorf("write block: %w", err)
		}
		if cerr != nil {
			return fmt.Errorf("close block writer: %w", cerr)
		}
		if id.Compare([16]byte{}) != 0 {
			res.Blocks++
		}
		return nil
	}
	defer func() {
		if w != nil {
			_ = w.Close()
		}
	}()
	refs := map[string]storage.SeriesRef{}
	b := labels.NewScratchBuilder(16)
	for first := true; ; first = false {
		if !first {
			d := step
			if rest := until.Sub(s.Now()); rest < d {
				d = rest
			}
			if d <= 0 {
				break
			}
			s.Advance(d)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		now := s.Now()
		if w == nil || !now.Before(blockEnd) {
			if err := flush(); err != nil {
				return res, err
			}
			blockEnd = now.Truncate(backfillBlock).Add(backfillBlock)
			var err error
			if w, err = tsdb.NewBlockWriter(logger, dir, backfillBlock.Milliseconds()); err != nil {
				return res, fmt.Errorf("open block writer: %w", err)
			}
			clear(refs) // series refs belong to one writer's head
		}
		app := w.Appender(ctx)
		ts := now.UnixMilli()
		for i, job := range JobNames {
			mfs, err := s.registries[job].Gather()
			if err != nil {
				return res, fmt.Errorf("gather %s: %w", job, err)
			}
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					for _, smp := range samplesOf(mf, m) {
						b.Reset()
						b.Add(labels.MetricName, smp.name)
						targets[i].Range(func(l labels.Label) { b.Add(l.Name, l.Value) })
						for _, lp := range m.GetLabel() {
							b.Add(lp.GetName(), lp.GetValue())
						}
						if smp.extra != "" {
							b.Add(smp.extra, smp.extraValue)
						}
						b.Sort()
						ls := b.Labels()
						key := ls.String()
						ref, err := app.Append(refs[key], ls, ts, smp.value)
						if err != nil {
							_ = app.Rollback()
							return res, fmt.Errorf("append %s: %w", key, err)
						}
						refs[key] = ref
						res.Samples++
					}
				}
			}
		}
		if err := app.Commit(); err != nil {
			return res, fmt.Errorf("commit samples: %w", err)
		}
		res.To = now
	}
	if err := flush(); err != nil {
		return res, err
	}
	return res, nil
}

type flatSample struct {
	name              string
	extra, extraValue string // le or quantile
	value             float64
}

// samplesOf flattens one metric as the text format exposes it: histograms
// into _bucket (le formatted as the scrape normalizes it), _sum and _count.
func samplesOf(mf *dto.MetricFamily, m *dto.Metric) []flatSample {
	name := mf.GetName()
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return []flatSample{{name: name, value: m.GetCounter().GetValue()}}
	case dto.MetricType_GAUGE:
		return []flatSample{{name: name, value: m.GetGauge().GetValue()}}
	case dto.MetricType_UNTYPED:
		return []flatSample{{name: name, value: m.GetUntyped().GetValue()}}
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		out := make([]flatSample, 0, len(h.GetBucket())+3)
		inf := false
		for _, bk := range h.GetBucket() {
			if math.IsInf(bk.GetUpperBound(), 1) {
				inf = true
			}
			out = append(out, flatSample{name: name + "_bucket", extra: labels.BucketLabel, extraValue: labels.FormatOpenMetricsFloat(bk.GetUpperBound()), value: float64(bk.GetCumulativeCount())})
		}
		if !inf {
			out = append(out, flatSample{name: name + "_bucket", extra: labels.BucketLabel, extraValue: "+Inf", value: float64(h.GetSampleCount())})
		}
		return append(out, flatSample{name: name + "_sum", value: h.GetSampleSum()}, flatSample{name: name + "_count", value: float64(h.GetSampleCount())})
	case dto.MetricType_SUMMARY:
		sm := m.GetSummary()
		out := make([]flatSample, 0, len(sm.GetQuantile())+2)
		for _, q := range sm.GetQuantile() {
			out = append(out, flatSample{name: name, extra: "quantile", extraValue: labels.FormatOpenMetricsFloat(q.GetQuantile()), value: q.GetValue()})
		}
		return append(out, flatSample{name: name + "_sum", value: sm.GetSampleSum()}, flatSample{name: name + "_count", value: float64(sm.GetSampleCount())})
	}
	return nil
}

// TSDBHasData reports whether dir (a TSDB directory) already holds blocks
// or a write-ahead log: backfilling it would write samples older than what
// its head holds, which the TSDB would not take as the seamless history a
// first start needs.
func TSDBHasData(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() == "wal" {
			if segs, _ := os.ReadDir(filepath.Join(dir, "wal")); len(segs) > 0 {
				return true
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
			return true
		}
	}
	return false
}
