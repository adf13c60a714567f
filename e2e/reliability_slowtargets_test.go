package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hungTarget accepts the scrape and never answers; it records how long each
// scrape waited before the scraper gave up.
type hungTarget struct {
	srv  *httptest.Server
	mu   sync.Mutex
	held []time.Duration
}

func newHungTarget(t *testing.T) *hungTarget {
	h := &hungTarget{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		h.mu.Lock()
		h.held = append(h.held, time.Since(start))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// newFloodTarget serves n series on every scrape.
func newFloodTarget(t *testing.T, n int) *httptest.Server {
	var body strings.Builder
	body.WriteString("# TYPE e2e_flood gauge\n")
	for i := range n {
		fmt.Fprintf(&body, "e2e_flood{id=\"%d\"} %d\n", i, i)
	}
	page := body.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestReliabilitySlowTargets: one scrape pool (interval 1 s, timeout
// 500 ms, sample_limit 100) holds two healthy targets, one that never
// answers and one that serves 20 000 series. The timeout and the limit hold
// (nothing of the flood is stored) and the healthy targets are scraped on
// time.
func TestReliabilitySlowTargets(t *testing.T) {
	const (
		floodSeries = 20000
		window      = 15 * time.Second
	)
	h1, h2 := newExporter(t), newExporter(t)
	hung := newHungTarget(t)
	flood := newFloodTarget(t, floodSeries)
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	env := map[string]string{
		"E2E_HEALTHY_1": h1.addr(), "E2E_HEALTHY_2": h2.addr(),
		"E2E_HUNG": addr(hung.srv), "E2E_FLOOD": addr(flood),
	}
	a := startAppliance(t, copyConfig(t, "reliability/slow"), t.TempDir(), env)

	waitFor(t, 20*time.Second, "all four targets scraped at least twice", func() bool {
		return len(query(t, a, `count_over_time(up{job="pool"}[10s]) >= 2`, time.Time{})) == 4
	})
	exceededBefore := metricValue(t, a, "prometheus_target_scrapes_exceeded_sample_limit_total")
	from := time.Now()
	time.Sleep(window)
	at := time.Now()
	exceeded := metricValue(t, a, "prometheus_target_scrapes_exceeded_sample_limit_total") - exceededBefore
	w := fmt.Sprintf("[%ds]", int(window.Seconds()))

	type figures struct {
		scrapes       int
		up            float64
		gap, duration time.Duration
		samples       float64
	}
	got := map[string]figures{}
	for name, inst := range map[string]string{"healthy-1": h1.addr(), "healthy-2": h2.addr(), "hung": env["E2E_HUNG"], "flood": env["E2E_FLOOD"]} {
		sel := fmt.Sprintf(`{job="pool", instance=%q}`, inst)
		up := rangeSelect(t, a.web, "up"+sel+w, at)
		require.Len(t, up, 1, inst)
		f := figures{scrapes: len(up[0].Times), gap: maxGap(up[0].Times)}
		f.up, _ = scalarAt(t, a.web, "max_over_time(up"+sel+w+")", at)
		d, _ := scalarAt(t, a.web, "max_over_time(scrape_duration_seconds"+sel+w+")", at)
		f.duration = time.Duration(d * float64(time.Second))
		f.samples, _ = scalarAt(t, a.web, "max_over_time(scrape_samples_scraped"+sel+w+")", at)
		got[name] = f
	}
	for _, name := range []string{"healthy-1", "healthy-2"} {
		f := got[name]
		require.Equal(t, 1.0, f.up, name)
		require.GreaterOrEqual(t, f.scrapes, int(window/time.Second)-1, "%s missed scrapes", name)
		require.LessOrEqual(t, f.gap, 1500*time.Millisecond, "%s scraped late", name)
		require.Less(t, f.duration, 250*time.Millisecond, name)
	}
	require.Zero(t, got["hung"].up, "the hung target was never up")
	require.LessOrEqual(t, got["hung"].duration, 700*time.Millisecond, "scrape_timeout 500ms not enforced")
	require.Zero(t, got["flood"].up, "a scrape over sample_limit counts as failed")
	require.GreaterOrEqual(t, exceeded, float64(window/time.Second)-2, "sample limit not applied on every scrape")
	stored, _ := scalarAt(t, a.web, `count(e2e_flood)`, time.Time{})
	require.Zero(t, stored, "no series of a scrape over sample_limit may be stored")

	// The hung target saw its scrapes abandoned at the timeout.
	hung.mu.Lock()
	held := append([]time.Duration(nil), hung.held...)
	hung.mu.Unlock()
	require.NotEmpty(t, held)
	var longest time.Duration
	for _, d := range held {
		longest = max(longest, d)
	}
	require.Less(t, longest, time.Second, "a scrape of the hung target was held past the timeout")

	// The targets API says why.
	var targets struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/targets?state=active", &targets)
	reasons := map[string]string{}
	for _, tg := range targets.Data.ActiveTargets {
		for name, inst := range map[string]string{"hung": env["E2E_HUNG"], "flood": env["E2E_FLOOD"]} {
			if strings.Contains(tg.ScrapeURL, inst) {
				reasons[name] = tg.LastError
			}
		}
	}
	require.Contains(t, reasons["hung"], "context deadline exceeded")
	require.Contains(t, reasons["flood"], "sample limit exceeded")

	t.Logf("over %s: healthy targets %d and %d scrapes (max gap %s, %s; longest scrape %s, %s), up=1 throughout",
		time.Since(from).Round(time.Second), got["healthy-1"].scrapes, got["healthy-2"].scrapes, got["healthy-1"].gap.Round(time.Millisecond), got["healthy-2"].gap.Round(time.Millisecond),
		got["healthy-1"].duration.Round(time.Millisecond), got["healthy-2"].duration.Round(time.Millisecond))
	t.Logf("hung target: up=0, %d scrapes abandoned after at most %s (scrape_duration_seconds max %s, timeout 500ms); flood of %d series: up=0, scrape_samples_scraped=%.0f, %.0f scrapes over sample_limit=100 in the window, 0 flood series stored",
		len(held), longest.Round(time.Millisecond), got["hung"].duration.Round(time.Millisecond), floodSeries, got["flood"].samples, exceeded)
}
