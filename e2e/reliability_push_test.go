package e2e

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// post sends body with headers and returns the status and answer.
func post(t *testing.T, u string, body io.Reader, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, body)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "POST %s", u)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var remoteWriteHeaders = map[string]string{
	"Content-Type":                      "application/x-protobuf",
	"Content-Encoding":                  "snappy",
	"X-Prometheus-Remote-Write-Version": "0.1.0",
}

// remoteWriteBody is a Prometheus remote-write 1.0 request with one sample.
func remoteWriteBody(t *testing.T, name string, v float64, at time.Time) []byte {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "pusher"}, {Name: "source", Value: "remote-write"}},
		Samples: []prompb.Sample{{Value: v, Timestamp: at.UnixMilli()}},
	}}}
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

// otlpRequest is an OTLP metrics export request with one gauge point.
func otlpRequest(name string, v float64, at time.Time) pmetricotlp.ExportRequest {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "e2e-push")
	rm.Resource().Attributes().PutStr("service.instance.id", "instance-1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetDoubleValue(v)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.Attributes().PutStr("source", "otlp")
	return pmetricotlp.NewExportRequestFromMetrics(md)
}

// TestReliabilityPushIngest: with --web.enable-remote-write-receiver and
// --web.enable-otlp-receiver the appliance stores pushed remote-write and
// OTLP (protobuf and JSON) samples; without the flags both endpoints refuse;
// a body over the 16 MiB limit is refused with 413 and the appliance keeps
// serving and ingesting.
func TestReliabilityPushIngest(t *testing.T) {
	cfg := copyConfig(t, "reliability/push")
	on := startAppliance(t, cfg, t.TempDir(), nil, "--web.enable-remote-write-receiver", "--web.enable-otlp-receiver")
	off := startAppliance(t, cfg, t.TempDir(), nil)
	now := time.Now()

	// Remote write.
	code, body := post(t, on.web+"/api/v1/write", bytes.NewReader(remoteWriteBody(t, "e2e_pushed_rw", 42, now)), remoteWriteHeaders)
	require.Equal(t, http.StatusNoContent, code, body)
	// OTLP, protobuf and JSON.
	pb, err := otlpRequest("e2e_pushed_otlp", 7, now).MarshalProto()
	require.NoError(t, err)
	code, body = post(t, on.web+"/api/v1/otlp/v1/metrics", bytes.NewReader(pb), map[string]string{"Content-Type": "application/x-protobuf"})
	require.Equal(t, http.StatusOK, code, body)
	js, err := otlpRequest("e2e_pushed_otlp_json", 9, now).MarshalJSON()
	require.NoError(t, err)
	code, body = post(t, on.web+"/api/v1/otlp/v1/metrics", bytes.NewReader(js), map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusOK, code, body)

	for q, want := range map[string]float64{
		`e2e_pushed_rw{job="pusher", source="remote-write"}`:                         42,
		`e2e_pushed_otlp{job="e2e-push", instance="instance-1", source="otlp"}`:      7,
		`e2e_pushed_otlp_json{job="e2e-push", instance="instance-1", source="otlp"}`: 9,
	} {
		v, ok := scalarAt(t, on.web, q, time.Time{})
		require.True(t, ok, "%s: no result", q)
		require.Equal(t, want, v, q)
	}

	// Off by default: both endpoints refuse and store nothing.
	code, body = post(t, off.web+"/api/v1/write", bytes.NewReader(remoteWriteBody(t, "e2e_pushed_rw", 1, now)), remoteWriteHeaders)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body, "--web.enable-remote-write-receiver")
	offRW := code
	code, body = post(t, off.web+"/api/v1/otlp/v1/metrics", bytes.NewReader(pb), map[string]string{"Content-Type": "application/x-protobuf"})
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body, "--web.enable-otlp-receiver")
	offOTLP := code
	_, ok := scalarAt(t, off.web, `count({__name__=~"e2e_pushed_.*"})`, time.Time{})
	require.False(t, ok, "a refused push was stored")

	// Over the limit: 33 MiB bodies are refused with 413, memory stays
	// bounded and the appliance keeps serving and ingesting.
	rssBefore := metricValue(t, on, "process_resident_memory_bytes")
	big := bytes.Repeat([]byte{0xff}, 33<<20)
	var tooLarge []int
	for _, ep := range []struct {
		path    string
		headers map[string]string
	}{
		{"/api/v1/write", remoteWriteHeaders},
		{"/api/v1/otlp/v1/metrics", map[string]string{"Content-Type": "application/x-protobuf"}},
	} {
		start := time.Now()
		code, body := post(t, on.web+ep.path, bytes.NewReader(big), ep.headers)
		tooLarge = append(tooLarge, code)
		t.Logf("33 MiB to %s: %d %q in %s", ep.path, code, body, time.Since(start).Round(time.Millisecond))
	}
	rssAfter := metricValue(t, on, "process_resident_memory_bytes")
	code, _ = httpGet(on.web + "/-/ready")
	require.Equal(t, http.StatusOK, code)
	code, body = post(t, on.web+"/api/v1/write", bytes.NewReader(remoteWriteBody(t, "e2e_pushed_after", 1, time.Now())), remoteWriteHeaders)
	require.Equal(t, http.StatusNoContent, code, body)
	_, ok = scalarAt(t, on.web, "e2e_pushed_after", time.Time{})
	require.True(t, ok, "push after the oversized bodies not stored")

	t.Logf("push: remote write 204 → e2e_pushed_rw=42 stored; OTLP protobuf and JSON 200 → gauges 7 and 9 stored with job/instance from service.name/service.instance.id; without the flags: %d/%d (not enabled), nothing stored; 33 MiB bodies: %v, RSS %.0f → %.0f MiB, still ready and ingesting",
		offRW, offOTLP, tooLarge, rssBefore/(1<<20), rssAfter/(1<<20))
	for _, c := range tooLarge {
		require.Equal(t, http.StatusRequestEntityTooLarge, c, "a body over the limit must be refused with 413 (the client should not retry it)")
	}
}
