package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzAlertPostBody: whatever is POSTed to the Alertmanager alerts
// endpoint, the guard answers without panicking, and anything it lets
// through is valid UTF-8 JSON (no lone surrogate escapes) within the limits.
func FuzzAlertPostBody(f *testing.F) {
	for _, s := range []string{`[]`, `[{"labels":{"alertname":"x"}}]`, "[{\"labels\":{\"a\":\"\xff\"}}]", `[[[[`, `{"labels":1}`, `[{"labels":{"a":"\ud800"}}]`, `[{"labels":{"a":"\\ud800"}}]`} {
		f.Add([]byte(s))
	}
	passed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := limitAlertmanagerBodies(passed)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v2/alerts", bytes.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == 299 && (checkAlertSizes(body) != nil || checkJSONText(body) != nil) {
			t.Fatalf("let through a body that fails the checks: %q", body)
		}
		if w.Code != 299 && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("refused with %d, want 4xx", w.Code)
		}
	})
}

// FuzzAckRequest: the ack decoder refuses bad input with an error, never a
// panic, and accepts only known fields.
func FuzzAckRequest(f *testing.F) {
	for _, s := range []string{`{"fingerprints":["0a"],"by":"a","comment":"c"}`, `{"fingerprint":"x"}`, `{"sudo":1}`, `{"fingerprints":[`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/appliance/acks", bytes.NewReader(body))
		var req ackRequest
		_ = decodeStrict(httptest.NewRecorder(), r, maxBody, &req)
	})
}
