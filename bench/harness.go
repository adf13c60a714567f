package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// harness is the benchmark's own HTTP server: a scrape target whose latency triggers and
// storm switch the benchmark sets (GET /metrics), and the webhook every receiver of the
// generated alertmanager.yml posts to (POST /hook/<receiver>).
type harness struct {
	srv  *http.Server
	addr string

	mu       sync.Mutex
	triggers []time.Time // when trigger i crossed its threshold; zero: not yet
	storm    bool
	scrapes  atomic.Int64

	// received: receiver → key label value → first arrival.
	received map[string]map[string]time.Time
	// startsAt: receiver → key label value → the alert's startsAt in its
	// first notification (the rule evaluation that fired it).
	startsAt      map[string]map[string]time.Time
	notifications atomic.Int64
	alerts        atomic.Int64
	badRequests   atomic.Int64
}

func newHarness(triggers int) (*harness, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &harness{addr: l.Addr().String(), triggers: make([]time.Time, triggers)}
	h.reset()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", h.serveMetrics)
	mux.HandleFunc("POST /hook/{receiver}", h.serveHook)
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.srv.Serve(l) }()
	return h, nil
}

func (h *harness) close() { _ = h.srv.Close() }

func (h *harness) webhookURL() string { return "http://" + h.addr + "/hook" }

// reset clears triggers, the storm switch and everything received, between systems.
func (h *harness) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.triggers)
	h.storm = false
	h.received = map[string]map[string]time.Time{}
	h.startsAt = map[string]map[string]time.Time{}
	h.scrapes.Store(0)
	h.notifications.Store(0)
	h.alerts.Store(0)
	h.badRequests.Store(0)
}

func (h *harness) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	h.scrapes.Add(1)
	h.mu.Lock()
	buf := []byte("# TYPE smm_bench_latency_trigger gauge\n")
	for i, t := range h.triggers {
		v := 0
		if !t.IsZero() {
			v = 1
		}
		buf = fmt.Appendf(buf, "smm_bench_latency_trigger{id=\"%03d\"} %d\n", i, v)
	}
	sw := 0
	if h.storm {
		sw = 1
	}
	buf = fmt.Appendf(buf, "# TYPE smm_bench_storm_switch gauge\nsmm_bench_storm_switch %d\n", sw)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
}

// trigger pushes latency trigger i over its threshold and returns when.
func (h *harness) trigger(i int) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.triggers[i] = time.Now()
	return h.triggers[i]
}

func (h *harness) setStorm(on bool) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.storm = on
	return time.Now()
}

type webhookMessage struct {
	Status string `json:"status"`
	Alerts []struct {
		Status   string            `json:"status"`
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
	} `json:"alerts"`
}

func (h *harness) serveHook(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	receiver := r.PathValue("receiver")
	var m webhookMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		h.badRequests.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.notifications.Add(1)
	h.alerts.Add(int64(len(m.Alerts)))
	key := keyLabel[receiver]
	h.mu.Lock()
	got, starts := h.received[receiver], h.startsAt[receiver]
	if got == nil {
		got, starts = map[string]time.Time{}, map[string]time.Time{}
		h.received[receiver], h.startsAt[receiver] = got, starts
	}
	for _, a := range m.Alerts {
		if a.Status != "firing" {
			continue
		}
		k := a.Labels[key]
		if _, seen := got[k]; !seen {
			got[k] = now
			starts[k] = a.StartsAt
		}
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// count returns how many distinct firing alerts receiver has had.
func (h *harness) count(receiver string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.received[receiver])
}

// arrivals returns a copy of receiver's first arrival per key.
func (h *harness) arrivals(receiver string) map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.received[receiver])
}

// firedAt returns a copy of receiver's startsAt per key, from each alert's first
// notification.
func (h *harness) firedAt(receiver string) map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.startsAt[receiver])
}

// triggerTimes returns when each trigger crossed, keyed like the alerts' id label.
func (h *harness) triggerTimes() map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]time.Time{}
	for i, t := range h.triggers {
		if !t.IsZero() {
			out[fmt.Sprintf("%03d", i)] = t
		}
	}
	return out
}
