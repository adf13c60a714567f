package simulator

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// TestSeries scrapes every scale target once and counts the synthetic series.
func TestSeries(t *testing.T) {
	const series = 100000
	h := startHarness(t, func(o *Options) { o.Series = series })
	targets := h.jobs[JobBench]
	require.Len(t, targets, 10)

	seen := make(map[string]struct{}, series)
	first := map[string]float64{}
	for i, addr := range targets {
		status, mfs := scrapeURL(t, "http://"+addr+"/metrics")
		require.Equal(t, http.StatusOK, status)
		require.Len(t, mfs, 1)
		ss := samples(mfs, benchMetric)
		require.Len(t, ss, series/len(targets))
		for _, s := range ss {
			seen[key(s.labels)] = struct{}{}
			if i == 0 {
				first[key(s.labels)] = s.value
			}
		}
	}
	require.Len(t, seen, series, "distinct label sets")

	// Values move with the ticks; the label sets stay.
	ticks := h.s.ticks.Load()
	require.Eventually(t, func() bool { return h.s.ticks.Load() > ticks }, time.Second, time.Millisecond)
	_, mfs := scrapeURL(t, "http://"+targets[0]+"/metrics")
	changed := 0
	for _, s := range samples(mfs, benchMetric) {
		v, ok := first[key(s.labels)]
		require.True(t, ok)
		if v != s.value {
			changed++
		}
	}
	require.Greater(t, changed, len(first)/2)
}

func TestBenchSpread(t *testing.T) {
	var tick atomic.Int64
	ts := newBenchTargets(10, 3, &tick)
	require.Len(t, ts, 3)
	require.Equal(t, []int{4, 3, 3}, []int{len(ts[0].ends), len(ts[1].ends), len(ts[2].ends)})
	require.Equal(t, []int{0, 4, 7}, []int{ts[0].first, ts[1].first, ts[2].first})
}

// BenchmarkBenchTarget serves one target of 100k series.
func BenchmarkBenchTarget(b *testing.B) {
	var tick atomic.Int64
	target := newBenchTargets(100000, 1, &tick)[0]
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		tick.Add(1)
		target.ServeHTTP(discard{http.Header{}}, req)
	}
}

// discard is a ResponseWriter that drops the body.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d discard) WriteHeader(int)             {}

// BenchmarkAdvance is one default one-second tick of the whole platform.
func BenchmarkAdvance(b *testing.B) {
	opts := DefaultOptions()
	opts.Seed = 1
	s, err := New(opts, promslog.NewNopLogger())
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		s.Advance(time.Second)
	}
}
