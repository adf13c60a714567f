package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/history"
	"github.com/smm-architect/smm-appliance/alerting/slo"
)

func TestSLOAPI(t *testing.T) {
	var sendErr error
	api := &ApplianceAPI{SLO: &SLOAPI{
		Now:        func() time.Time { return time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) },
		SendReview: func(context.Context, time.Time) error { return sendErr },
	}}
	h := api.Handler()
	for _, tc := range []struct {
		name, method, target string
		sendErr              error
		code                 int
		ctype, body          string
	}{
		{"report", "GET", "/api/v1/appliance/slo", nil, 200, "application/json", `"window":"live"`},
		{"report 30d", "GET", "/api/v1/appliance/slo?window=30d", nil, 200, "application/json", `"window":"30d"`},
		{"bad window", "GET", "/api/v1/appliance/slo?window=1y", nil, 400, "application/json", "window must be"},
		{"review json", "GET", "/api/v1/appliance/review", nil, 200, "application/json", `"window":"7d"`},
		{"review md", "GET", "/api/v1/appliance/review?format=md", nil, 200, "text/markdown; charset=utf-8", "# Alerting review: 2025-12-29 09:00 UTC to 2026-01-05 09:00 UTC"},
		{"review csv", "GET", "/api/v1/appliance/review?format=csv", nil, 200, "text/csv; charset=utf-8", "section,name,detail,count,value\n"},
		{"review bad format", "GET", "/api/v1/appliance/review?format=pdf", nil, 400, "application/json", "format must be"},
		{"send", "POST", "/api/v1/appliance/review/send", nil, 200, "application/json", `"sent":true`},
		{"send unconfigured", "POST", "/api/v1/appliance/review/send", slo.ErrNotConfigured, 409, "application/json", "report.email_to"},
		{"send relay down", "POST", "/api/v1/appliance/review/send", errors.New("connect to smtp: refused"), 502, "application/json", "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sendErr = tc.sendErr
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			require.Equal(t, tc.ctype, rec.Header().Get("Content-Type"))
			require.Contains(t, rec.Body.String(), tc.body)
			if strings.Contains(tc.target, "format=") && tc.code == http.StatusOK {
				require.Contains(t, rec.Header().Get("Content-Disposition"), "alerting-review-2026-01-05")
			}
		})
	}
}

// TestSLOAPICache: a report is served again within its TTL (the history is
// read once), and recomputed after it.
func TestSLOAPICache(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	reads := 0
	api := &SLOAPI{Now: func() time.Time { return now }, Sources: slo.Sources{
		History: func(since, until time.Time) ([]history.Entry, error) { reads++; return nil, nil },
	}}
	h := (&ApplianceAPI{SLO: api}).Handler()
	get := func(q string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/appliance/slo"+q, nil))
		require.Equal(t, 200, rec.Code)
	}
	get("?window=30d")
	get("?window=30d")
	require.Equal(t, 1, reads)
	get("?window=7d")
	require.Equal(t, 2, reads, "per window")
	now = now.Add(61 * time.Second)
	get("?window=30d")
	require.Equal(t, 3, reads)
	get("")
	now = now.Add(6 * time.Second)
	get("")
	require.Equal(t, 5, reads, "live is kept 5 s only")
}
