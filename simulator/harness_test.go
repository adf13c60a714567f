package simulator

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// testStart is a fixed simulated start in the morning, so the diurnal curve runs
// through the busy part of the day while the tests advance the clock.
var testStart = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

// harness is a simulator started on free ports, reached only over HTTP, except for the
// lock that lets snapshots pair a scrape with the simulated time it shows.
type harness struct {
	t       *testing.T
	s       *Simulator
	control string
	jobs    map[string][]string
	paths   map[string]string
}

// startHarness starts a simulator whose ticks each advance 20 simulated seconds every
// 5 ms, so a 15-minute window takes about a quarter of a second.
func startHarness(t *testing.T, mutate func(*Options)) *harness {
	t.Helper()
	opts := DefaultOptions()
	opts.BasePort = 0
	opts.ControlAddress = "127.0.0.1:0"
	opts.Tick = 5 * time.Millisecond
	opts.Step = 20 * time.Second
	opts.Start = testStart
	opts.Seed = 42
	if mutate != nil {
		mutate(&opts)
	}
	s, err := New(opts, promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(func() { require.NoError(t, s.Stop()) })

	h := &harness{t: t, s: s, control: "http://" + s.ControlAddr(), paths: map[string]string{}}
	h.getJSON("/jobs", &h.jobs)
	for _, j := range s.Jobs() {
		h.paths[j.Name] = j.MetricsPath
	}
	return h
}

func (h *harness) getJSON(path string, v any) {
	h.t.Helper()
	resp, err := http.Get(h.control + path)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(v))
}

// call sends method to the control API and returns the status code.
func (h *harness) call(method, path string) int {
	h.t.Helper()
	req, err := http.NewRequest(method, h.control+path, nil)
	require.NoError(h.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(h.t, resp.Body.Close())
	return resp.StatusCode
}

// scrapeURL fetches and parses one target; families is nil unless the status is 200.
func scrapeURL(t *testing.T, url string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, mfs
}

// snapshot is one scrape of a job and the simulated time it shows.
type snapshot struct {
	status int
	now    time.Time
	mfs    map[string]*dto.MetricFamily
}

// snap scrapes job while holding the world lock, so no step lands mid-scrape.
func (h *harness) snap(job string) snapshot {
	h.t.Helper()
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	status, mfs := scrapeURL(h.t, "http://"+h.jobs[job][0]+h.paths[job])
	return snapshot{status: status, now: h.s.now, mfs: mfs}
}

// window scrapes job twice, d of simulated time apart, like a range vector for rate().
type window struct {
	before, after snapshot
}

func (h *harness) window(job string, d time.Duration) window {
	h.t.Helper()
	a := h.snap(job)
	require.Eventually(h.t, func() bool { return h.s.Now().Sub(a.now) >= d }, 10*time.Second, time.Millisecond)
	b := h.snap(job)
	require.Equal(h.t, http.StatusOK, a.status)
	require.Equal(h.t, http.StatusOK, b.status)
	return window{a, b}
}

func (w window) seconds() float64 { return w.after.now.Sub(w.before.now).Seconds() }

// series is one sample of a family: its labels and value (counter, gauge or untyped).
type series struct {
	labels map[string]string
	value  float64
	metric *dto.Metric
}

// key renders labels except the excluded ones, to group series.
func key(labels map[string]string, except ...string) string {
	var parts []string
	for k, v := range labels {
		skip := false
		for _, e := range except {
			skip = skip || k == e
		}
		if !skip {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func samples(mfs map[string]*dto.MetricFamily, name string) []series {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
	var out []series
	for _, m := range mf.GetMetric() {
		s := series{labels: map[string]string{}, metric: m}
		for _, lp := range m.GetLabel() {
			s.labels[lp.GetName()] = lp.GetValue()
		}
		switch {
		case m.Counter != nil:
			s.value = m.GetCounter().GetValue()
		case m.Gauge != nil:
			s.value = m.GetGauge().GetValue()
		case m.Untyped != nil:
			s.value = m.GetUntyped().GetValue()
		}
		out = append(out, s)
	}
	return out
}

// byKey maps series of name to their values, keyed by key(labels, except...), summed.
func byKey(mfs map[string]*dto.MetricFamily, name string, except ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples(mfs, name) {
		out[key(s.labels, except...)] += s.value
	}
	return out
}

// increase is the per-key counter increase over the window.
func (w window) increase(name string, except ...string) map[string]float64 {
	a, b := byKey(w.before.mfs, name, except...), byKey(w.after.mfs, name, except...)
	out := map[string]float64{}
	for k, v := range b {
		out[k] = v - a[k]
	}
	return out
}

// share is, per key, the increase of series with label=value over the increase of all.
func (w window) share(name, label, value string) map[string]float64 {
	total := w.increase(name, label)
	part := map[string]float64{}
	for _, s := range samples(w.after.mfs, name) {
		if s.labels[label] == value {
			part[key(s.labels, label)] += s.value
		}
	}
	for _, s := range samples(w.before.mfs, name) {
		if s.labels[label] == value {
			part[key(s.labels, label)] -= s.value
		}
	}
	out := map[string]float64{}
	for k, t := range total {
		if t > 0 {
			out[k] = part[k] / t
		}
	}
	return out
}

// quantile estimates the q-quantile per histogram series over the window, the way
// histogram_quantile(q, rate(..._bucket[w])) does.
func (w window) quantile(name string, q float64) map[string]float64 {
	before := map[string]*dto.Histogram{}
	for _, s := range samples(w.before.mfs, name) {
		before[key(s.labels)] = s.metric.GetHistogram()
	}
	out := map[string]float64{}
	for _, s := range samples(w.after.mfs, name) {
		k := key(s.labels)
		h, prev := s.metric.GetHistogram(), before[k]
		cum := func(i int) float64 {
			c := float64(h.GetBucket()[i].GetCumulativeCount())
			if prev != nil {
				c -= float64(prev.GetBucket()[i].GetCumulativeCount())
			}
			return c
		}
		total := float64(h.GetSampleCount())
		if prev != nil {
			total -= float64(prev.GetSampleCount())
		}
		if total == 0 {
			continue
		}
		rank := q * total
		lower, lowerCount := 0.0, 0.0
		result := math.NaN()
		for i, b := range h.GetBucket() {
			upper := b.GetUpperBound()
			if math.IsInf(upper, 1) {
				break
			}
			if c := cum(i); c >= rank {
				result = lower + (upper-lower)*(rank-lowerCount)/(c-lowerCount)
				break
			} else {
				lower, lowerCount = upper, c
			}
		}
		if math.IsNaN(result) {
			result = lower // in the +Inf bucket: the highest finite bound
		}
		out[k] = result
	}
	return out
}

func maxOf(m map[string]float64) float64 {
	v := math.Inf(-1)
	for _, x := range m {
		v = max(v, x)
	}
	return v
}

func minOf(m map[string]float64) float64 {
	v := math.Inf(1)
	for _, x := range m {
		v = min(v, x)
	}
	return v
}
