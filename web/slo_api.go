package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/smm-architect/smm-appliance/alerting/slo"
)

// SLOAPI serves the alerting SLO report and the weekly review:
// GET /api/v1/appliance/slo?window=live|7d|30d and
// GET /api/v1/appliance/review?format=json|md|csv&window=7d.
type SLOAPI struct {
	Sources slo.Sources
	Now     func() time.Time // nil: time.Now
	// SendReview mails the weekly review now (POST /review/send), to
	// check the relay and the address without waiting for the weekday.
	SendReview func(ctx context.Context, now time.Time) error

	// A report is kept for a while: the console refreshes every 10 s, and
	// a 30-day report reads the whole history from disk.
	mtx   sync.Mutex
	cache map[string]cachedReport
}

type cachedReport struct {
	at  time.Time
	rep slo.Report
}

// reportTTL is how long a computed report is served again: short for the
// live window, a minute for the long ones (a minute more or less of 7 days
// does not move their figures).
func reportTTL(d time.Duration) time.Duration {
	if d <= time.Hour {
		return 5 * time.Second
	}
	return time.Minute
}

func (s *SLOAPI) compute(ctx context.Context, name string, d time.Duration) slo.Report {
	now := s.now()
	s.mtx.Lock()
	c, ok := s.cache[name]
	s.mtx.Unlock()
	if ok && now.Sub(c.at) >= 0 && now.Sub(c.at) < reportTTL(d) {
		return c.rep
	}
	rep := slo.Compute(ctx, s.Sources, name, d, now)
	s.mtx.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedReport{}
	}
	s.cache[name] = cachedReport{at: now, rep: rep}
	s.mtx.Unlock()
	return rep
}

func (s *SLOAPI) send(w http.ResponseWriter, r *http.Request) {
	if s.SendReview == nil {
		writeAPI(w, http.StatusNotFound, nil, errors.New("no weekly review sender"))
		return
	}
	if err := s.SendReview(r.Context(), s.now()); err != nil {
		code := http.StatusBadGateway // the relay refused or did not answer
		if errors.Is(err, slo.ErrNotConfigured) {
			code = http.StatusConflict
		}
		writeAPI(w, code, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, map[string]any{"sent": true}, nil)
}

func (s *SLOAPI) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SLOAPI) report(w http.ResponseWriter, r *http.Request) {
	name, d, err := slo.ParseWindow(r.URL.Query().Get("window"))
	if err != nil {
		writeAPI(w, http.StatusBadRequest, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, s.compute(r.Context(), name, d), nil)
}

func (s *SLOAPI) review(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	window := q.Get("window")
	if window == "" {
		window = "7d"
	}
	name, d, err := slo.ParseWindow(window)
	if err != nil {
		writeAPI(w, http.StatusBadRequest, nil, err)
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "md" && format != "csv" {
		writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("format must be json, md or csv, not %q", format))
		return
	}
	now := s.now()
	rv := slo.ComputeReview(r.Context(), s.Sources, name, d, now)
	var buf bytes.Buffer
	file := "alerting-review-" + now.UTC().Format("2006-01-02")
	switch format {
	case "", "json":
		writeAPI(w, http.StatusOK, rv, nil)
		return
	case "md":
		err = slo.WriteMarkdown(&buf, rv)
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		file += ".md"
	case "csv":
		err = slo.WriteCSV(&buf, rv)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		file += ".csv"
	}
	if err != nil {
		writeAPI(w, http.StatusInternalServerError, nil, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	_, _ = w.Write(buf.Bytes())
}
