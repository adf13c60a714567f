package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
)

func TestLoneSurrogate(t *testing.T) {
	for _, c := range []struct {
		json string
		bad  bool
	}{
		{`{"a":"b"}`, false},
		{`{"a":"\u00e9\ud83d\ude00"}`, false}, // é and a valid pair
		{`{"a":"\\ud800"}`, false},            // an escaped backslash, then text
		{`{"\\":"\\\\ud800"}`, false},
		{`{"a":"\ud800"}`, true},
		{`{"a":"\udc00"}`, true},
		{`{"a":"\uDBFF\u0041"}`, true}, // high surrogate, no low one
		{`{"a":"\ud800\ud800"}`, true},
		{`{"a":"x\\\ud800"}`, true}, // \\ then \ud800
		{`{"\ud800":"a"}`, true},    // keys too
		{`[1,2,"\uD83D\uDE00","\udfff"]`, true},
		{`{"a":"\ud800`, true},
		{`{"a":"\ud8`, false}, // malformed: the decoder refuses it
		{`"\ud800\u"`, true},  // high surrogate, truncated next escape
		{`\ud800`, false},     // not inside a string: the decoder refuses it
		{`{"a":"\"\ud800"}`, true},
	} {
		err := checkJSONText([]byte(c.json))
		require.Equal(t, c.bad, err != nil, "%s: %v", c.json, err)
		if c.bad {
			require.Equal(t, http.StatusBadRequest, statusOf(err))
			require.Contains(t, err.Error(), "not valid UTF-8")
		}
	}
	require.Error(t, checkJSONText([]byte("\"\xff\"")))
}

func TestReadBody(t *testing.T) {
	do := func(body []byte, contentLength int64, limit int64) ([]byte, error) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.ContentLength = contentLength
		return readBody(httptest.NewRecorder(), r, limit)
	}
	b, err := do([]byte("0123456789"), 10, 10)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(b))
	_, err = do([]byte("0123456789"), 10, 9)
	require.Equal(t, http.StatusRequestEntityTooLarge, statusOf(err), "Content-Length over the limit")
	_, err = do([]byte("0123456789"), -1, 9)
	require.Equal(t, http.StatusRequestEntityTooLarge, statusOf(err), "chunked body over the limit")

	// The ack decoder uses it: an oversized ack is 413, a malformed one 400.
	var req ackRequest
	big := fmt.Sprintf(`{"comment":%q}`, strings.Repeat("x", maxBody))
	err = decodeStrict(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(big)), maxBody, &req)
	require.Equal(t, http.StatusRequestEntityTooLarge, statusOf(err))
	err = decodeStrict(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"comment":"\ud800"}`)), maxBody, &req)
	require.Equal(t, http.StatusBadRequest, statusOf(err))
	err = decodeStrict(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"sudo":1}`)), maxBody, &req)
	require.Equal(t, http.StatusBadRequest, statusOf(err))
}

// TestAlertLimitsOnEverySpelling: the alert limits apply to every method
// and path spelling that go-openapi serves as POST /api/v2/alerts.
func TestAlertLimitsOnEverySpelling(t *testing.T) {
	labels := map[string]string{}
	for i := range maxAlertLabels + 1 {
		labels[fmt.Sprintf("l%d", i)] = "v"
	}
	tooMany, _ := json.Marshal([]map[string]any{{"labels": labels}})
	h := upperMethod(limitAlertmanagerBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })))
	for _, m := range []string{"POST", "post", "Post"} {
		for _, p := range []string{"/api/v2/alerts", "/api/v2/alerts/", "/API/V2/Alerts", "/api/v2/./alerts"} {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tooMany))
			r.Method, r.URL.Path = m, p
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, http.StatusBadRequest, w.Code, "%s %s: %s", m, p, w.Body)
		}
	}
}

// TestAlertmanagerConnectNotServed: the embedded Alertmanager serves its
// configuration over Connect (GET, JSON), gRPC-Web and native gRPC; behind
// alertmanagerAPI every one of those is 404 and the v2 API still answers.
func TestAlertmanagerConnectNotServed(t *testing.T) {
	am, err := alertmanager.New(alertmanager.Options{DataDir: t.TempDir(), ExternalURL: &url.URL{Scheme: "http", Host: "localhost:9093"}},
		promslog.NewNopLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { _ = am.Close() })
	guarded := alertmanagerAPI(am.Handler())
	frame := []byte{0, 0, 0, 0, 0}
	type req struct {
		method, target, ct string
		body               []byte
		h2                 bool
	}
	connect := []req{
		{"GET", "/api/status.v3alpha.StatusService/GetStatus?encoding=json&message=%7B%7D", "", nil, false},
		{"POST", "/api/status.v3alpha.StatusService/GetStatus", "application/json", []byte(`{}`), false},
		{"POST", "/api/status.v3alpha.StatusService/GetStatus", "application/grpc-web+proto", frame, false},
		{"POST", "/api/grpc.health.v1.Health/Check", "application/json", []byte(`{}`), false},
		{"POST", "/api/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "application/connect+proto", frame, false},
		{"POST", "/status.v3alpha.StatusService/GetStatus", "application/grpc", frame, true},
		{"POST", "/grpc.health.v1.Health/Check", "application/grpc+proto", frame, true},
		{"POST", "/api/v2/status", "application/grpc", frame, true}, // gRPC content on a v2 path
	}
	serve := func(h http.Handler, c req) *httptest.ResponseRecorder {
		var body io.Reader
		if c.body != nil {
			body = bytes.NewReader(c.body)
		}
		r := httptest.NewRequest(c.method, c.target, body)
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		if c.h2 {
			r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
			r.Header.Set("TE", "trailers")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	// Upstream serves the first one (why the guard exists).
	require.Equal(t, http.StatusOK, serve(am.Handler(), connect[0]).Code, "the unguarded Alertmanager serves Connect")
	for _, c := range connect {
		w := serve(guarded, c)
		require.Equal(t, http.StatusNotFound, w.Code, "%s %s (%s): %s", c.method, c.target, c.ct, w.Body)
	}
	require.NotEqual(t, http.StatusNotFound, serve(guarded, req{"GET", "/api/v2/silences", "", nil, false}).Code)
	require.NotEqual(t, http.StatusNotFound, serve(guarded, req{"GET", "/api/v2/silences/", "", nil, false}).Code)
}

// TestDocsPushBodyLimit: the documents state the push body limit the code
// enforces.
func TestDocsPushBodyLimit(t *testing.T) {
	re := regexp.MustCompile(`(?is)(?:remote write\s*/\s*OTLP|Request\s+bodies\s+are\s+limited\s+to)\s+(\d+)\s*MiB`)
	found := 0
	for _, f := range []string{"../docs/security.md", "../docs/scale-out.md"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			require.Equal(t, fmt.Sprint(maxPushBody>>20), m[1], "%s: %q", f, m[0])
			found++
		}
	}
	require.Equal(t, 2, found, "both documents state the limit")
}
