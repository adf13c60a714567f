package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
)

// fuzzAlertmanager is the embedded Alertmanager's API behind the web layer's
// body guard, as the :9093 listener serves it (authentication aside).
func fuzzAlertmanager(f *testing.F) http.Handler {
	am, err := alertmanager.New(alertmanager.Options{DataDir: f.TempDir(), ExternalURL: &url.URL{Scheme: "http", Host: "localhost:9093"}},
		promslog.NewNopLogger(), prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = am.Close() })
	return limitAlertmanagerBodies(am.Handler())
}

// FuzzSilencePost: whatever is POSTed as a silence — matchers with regex
// bombs, invalid UTF-8, deep JSON — the API answers 200 or 4xx, never a
// panic or a 5xx. Matchers are RE2, so no regular expression can backtrack.
func FuzzSilencePost(f *testing.F) {
	for _, s := range []string{
		`{"matchers":[{"name":"alertname","value":"A","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"f","comment":"c"}`,
		`{"matchers":[{"name":"alertname","value":"(a+)+$","isRegex":true}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"f","comment":"c"}`,
		`{"matchers":[{"name":"a","value":".*","isRegex":true,"isEqual":false}],"endsAt":"2099-01-01T00:00:00Z","createdBy":"f","comment":"c"}`,
		`{"matchers":[],"createdBy":"f"}`,
		"{\"matchers\":[{\"name\":\"\xff\",\"value\":\"x\"}]}",
		`[[[[[[[[[[[[[[[[[[[[`,
		`{"id":"nope","matchers":[{"name":"a","value":"b"}],"endsAt":"2099-01-01T00:00:00Z","createdBy":"f","comment":"c"}`,
	} {
		f.Add([]byte(s))
	}
	h := fuzzAlertmanager(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v2/silences", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}

// FuzzMatcherFilter: the matcher syntax of ?filter= (amtool's and the
// console's silence preview) parses or is refused with a 400.
func FuzzMatcherFilter(f *testing.F) {
	for _, s := range []string{`alertname="A"`, `{alertname=~"(a|b)+"}`, `a!~".*",b="c"`, `{`, `a=~"(?P<x>"`, "a=\"\xff\""} {
		f.Add(s)
	}
	h := fuzzAlertmanager(f)
	f.Fuzz(func(t *testing.T, filter string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v2/silences?filter="+url.QueryEscape(filter), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q: %s", w.Code, filter, w.Body)
		}
	})
}
