package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers shared by the TestReliability… tests (issue 8): receivers that go
// down on command, history with timestamps, range queries and /metrics reads.

// flakyReceiver is a webhook receiver on a fixed address that can answer
// 500, refuse connections (no listener at all) and come back on the same
// port.
type flakyReceiver struct {
	t    *testing.T
	addr string

	mu       sync.Mutex
	status   int // answer while listening
	srv      *http.Server
	got      []notification
	requests int // every request, whatever the answer
}

func newFlakyReceiver(t *testing.T) *flakyReceiver {
	r := &flakyReceiver{t: t, addr: freePort(t), status: http.StatusOK}
	r.listen()
	t.Cleanup(r.refuse)
	return r
}

func (r *flakyReceiver) url() string { return "http://" + r.addr + "/hook" }

// listen (re)opens the listener on the receiver's port.
func (r *flakyReceiver) listen() {
	r.t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; nothing else should take it, but a
	// closing socket may hold it for an instant.
	for range 50 {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(r.t, err, "listen again on %s", r.addr)
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// refuse closes the listener and every open connection: the port refuses
// connections until listen.
func (r *flakyReceiver) refuse() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (r *flakyReceiver) setStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

func (r *flakyReceiver) serve(w http.ResponseWriter, req *http.Request) {
	var n notification
	err := json.NewDecoder(req.Body).Decode(&n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.status != http.StatusOK {
		http.Error(w, "receiver outage injected by the test", r.status)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.got = append(r.got, n)
}

// delivered counts accepted notifications carrying alertname with status.
func (r *flakyReceiver) delivered(alertname, status string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, n := range r.got {
		for _, a := range n.Alerts {
			if a.Labels["alertname"] == alertname && a.Status == status {
				c++
			}
		}
	}
	return c
}

// timedHistoryEntry is a history entry with its time, for backoff figures.
type timedHistoryEntry struct {
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	Receiver    string    `json:"receiver"`
	Integration string    `json:"integration"`
	GroupKey    string    `json:"groupKey"`
	Success     bool      `json:"success"`
	Error       string    `json:"error"`
	Attempt     int       `json:"attempt"`
	Alerts      []struct {
		Alertname string `json:"alertname"`
		Status    string `json:"status"`
	} `json:"alerts"`
}

// timedHistory returns history entries, newest first as the API gives them.
func timedHistory(t *testing.T, a *appliance, params url.Values) []timedHistoryEntry {
	t.Helper()
	var resp struct {
		Data []timedHistoryEntry `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/history?"+params.Encode(), &resp)
	return resp.Data
}

// metricValue sums the samples of metric in the appliance's own /metrics
// whose label text contains every one of labels (`name="value"` pieces).
func metricValue(t *testing.T, a *appliance, metric string, labels ...string) float64 {
	t.Helper()
	code, body := httpGet(a.web + "/metrics")
	require.Equal(t, http.StatusOK, code)
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// series is one series of a range-vector answer.
type series struct {
	Metric map[string]string
	Times  []time.Time
	Values []float64
}

// rangeSelect runs an instant query of a range selector (`up{…}[30s]`)
// against base (an appliance or any Prometheus) and returns the raw samples.
func rangeSelect(t *testing.T, base, q string, at time.Time) []series {
	t.Helper()
	var resp struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	u := base + "/api/v1/query?query=" + url.QueryEscape(q)
	if !at.IsZero() {
		u += "&time=" + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	}
	getJSON(t, u, &resp)
	require.Equal(t, "matrix", resp.Data.ResultType, "%s is not a range selector", q)
	var out []series
	for _, r := range resp.Data.Result {
		s := series{Metric: r.Metric}
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			s.Times = append(s.Times, time.UnixMilli(int64(ts*1000)))
			f, _ := strconv.ParseFloat(v[1].(string), 64)
			s.Values = append(s.Values, f)
		}
		out = append(out, s)
	}
	return out
}

// scalarAt runs an instant query against base and returns the single
// result's value, or ok=false for an empty answer.
func scalarAt(t *testing.T, base, q string, at time.Time) (float64, bool) {
	t.Helper()
	var resp struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	u := base + "/api/v1/query?query=" + url.QueryEscape(q)
	if !at.IsZero() {
		u += "&time=" + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	}
	getJSON(t, u, &resp)
	if len(resp.Data.Result) == 0 {
		return 0, false
	}
	require.Len(t, resp.Data.Result, 1, "%s: one series expected", q)
	f, err := strconv.ParseFloat(resp.Data.Result[0].Value[1].(string), 64)
	require.NoError(t, err)
	return f, true
}

// maxGap is the largest distance between consecutive times.
func maxGap(ts []time.Time) time.Duration {
	var g time.Duration
	for i := 1; i < len(ts); i++ {
		g = max(g, ts[i].Sub(ts[i-1]))
	}
	return g
}
