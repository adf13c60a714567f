package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/console"
	"github.com/smm-architect/smm-appliance/alerting/history"
	"github.com/smm-architect/smm-appliance/storage/persist"
	"github.com/smm-architect/smm-appliance/web/audit"
	"github.com/smm-architect/smm-appliance/web/auth"
)

// ApplianceAPI serves /api/v1/appliance/: alerts with their ack and
// escalation state, acknowledgements, notification history and status.
type ApplianceAPI struct {
	Console *console.Console
	Status  func() map[string]any
	Audit   *audit.Log
	SLO     *SLOAPI // nil: no SLO report
}

// Handler routes the appliance API.
func (a *ApplianceAPI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/appliance/status", func(w http.ResponseWriter, _ *http.Request) {
		writeAPI(w, http.StatusOK, a.Status(), nil)
	})
	mux.HandleFunc("GET /api/v1/appliance/alerts", a.alerts)
	mux.HandleFunc("GET /api/v1/appliance/acks", func(w http.ResponseWriter, _ *http.Request) {
		list := []acks.State{}
		for _, st := range a.Console.States() {
			if st.Ack != nil {
				list = append(list, st)
			}
		}
		writeAPI(w, http.StatusOK, list, nil)
	})
	mux.HandleFunc("POST /api/v1/appliance/acks", a.ack)
	mux.HandleFunc("DELETE /api/v1/appliance/acks/{fingerprint}", a.unack)
	mux.HandleFunc("GET /api/v1/appliance/history", a.history)
	mux.HandleFunc("GET /api/v1/appliance/matchers", a.matchers)
	mux.HandleFunc("GET /api/v1/appliance/whoami", func(w http.ResponseWriter, r *http.Request) {
		writeAPI(w, http.StatusOK, auth.FromContext(r.Context()), nil)
	})
	mux.HandleFunc("GET /api/v1/appliance/audit", a.auditLog)
	if a.SLO != nil {
		mux.HandleFunc("GET /api/v1/appliance/slo", a.SLO.report)
		mux.HandleFunc("GET /api/v1/appliance/review", a.SLO.review)
		mux.HandleFunc("POST /api/v1/appliance/review/send", a.SLO.send)
	}
	return mux
}

// maxBody bounds the appliance API's write request bodies.
const maxBody = 1 << 20

type ackRequest struct {
	Fingerprints []string `json:"fingerprints"`
	Fingerprint  string   `json:"fingerprint"`
	By           string   `json:"by"`
	Comment      string   `json:"comment"`
	// Reason is one of working_on_it (the default), false_positive,
	// not_actionable, duplicate.
	Reason string `json:"reason"`
	// Snooze ("30s", "1h") or Until (RFC 3339) make the ack lapse; the
	// alert is notified again then if it still fires.
	Snooze string    `json:"snooze"`
	Until  time.Time `json:"until"`
}

func (a *ApplianceAPI) ack(w http.ResponseWriter, r *http.Request) {
	var req ackRequest
	if err := decodeStrict(w, r, maxBody, &req); err != nil {
		writeAPI(w, statusOf(err), nil, err)
		return
	}
	fps := req.Fingerprints
	if req.Fingerprint != "" {
		fps = append(fps, req.Fingerprint)
	}
	// With authentication on, an ack is by the caller: no acking in
	// someone else's name.
	if id := auth.FromContext(r.Context()); id.Enabled && id.User != "" {
		req.By = id.User
	}
	until := req.Until
	if req.Snooze != "" {
		d, err := model.ParseDuration(req.Snooze)
		if err != nil || !until.IsZero() {
			writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("snooze %q: want a duration such as 30s or 1h, and no until with it", req.Snooze))
			return
		}
		until = time.Now().Add(time.Duration(d))
	}
	states, err := a.Console.AckWith(r.Context(), console.AckRequest{
		Fingerprints: fps, By: req.By, Comment: req.Comment, Reason: req.Reason, Until: until, Via: acks.ViaConsole,
	})
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, console.ErrNotFound) {
			code = http.StatusNotFound
		}
		if errors.Is(err, persist.ErrNotDurable) {
			code = http.StatusInsufficientStorage // refused and rolled back
		}
		writeAPI(w, code, nil, err)
		return
	}
	acked := make([]string, 0, len(states))
	for _, st := range states {
		acked = append(acked, st.Fingerprint)
	}
	writeAPI(w, http.StatusOK, map[string]any{"acked": acked}, nil)
}

func (a *ApplianceAPI) unack(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if id := auth.FromContext(r.Context()); id.Enabled && id.User != "" {
		by = id.User
	}
	st, err := a.Console.Unack(r.Context(), r.PathValue("fingerprint"), by)
	if err != nil {
		code := http.StatusNotFound
		if errors.Is(err, persist.ErrNotDurable) {
			code = http.StatusInsufficientStorage // refused and rolled back
		}
		writeAPI(w, code, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, st, nil)
}

func (a *ApplianceAPI) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := history.Filter{Kind: q.Get("kind"), Receiver: q.Get("receiver"), Alertname: q.Get("alertname"), Fingerprint: q.Get("fingerprint"), Status: q.Get("status")}
	if m := q.Get("matchers"); m != "" {
		// Alertmanager's matcher syntax, as in the alert filter: team="x",
		// connector=~"tik.*".
		ms, err := compat.Matchers(m, "web")
		if err != nil {
			writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("matchers: %w", err))
			return
		}
		f.Labels = func(l map[string]string) bool {
			ls := make(model.LabelSet, len(l))
			for k, v := range l {
				ls[model.LabelName(k)] = model.LabelValue(v)
			}
			return labels.Matchers(ms).Matches(ls)
		}
	}
	if !slices.Contains([]string{"", "success", "failure", "delivered", "logged"}, f.Status) {
		writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("status must be success, failure, delivered or logged, not %q", f.Status))
		return
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("%s: %w", p.name, err))
				return
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("limit must be 1..100000"))
			return
		}
		f.Limit = n
	}
	entries, err := a.Console.History(f)
	if err != nil {
		writeAPI(w, http.StatusInternalServerError, nil, err)
		return
	}
	if entries == nil {
		entries = []history.Entry{}
	}
	writeAPI(w, http.StatusOK, entries, nil)
}

// alerts lists the firing alerts with their ack and escalation state,
// read from the alert store in process (the console's Alerts).
func (a *ApplianceAPI) alerts(w http.ResponseWriter, r *http.Request) {
	writeAPI(w, http.StatusOK, a.Console.Alerts(r.Context()), nil)
}

func (a *ApplianceAPI) auditLog(w http.ResponseWriter, r *http.Request) {
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("limit must be 1..10000"))
			return
		}
		limit = n
	}
	entries, err := a.Audit.Recent(limit, r.URL.Query().Get("event"))
	if err != nil {
		writeAPI(w, http.StatusInternalServerError, nil, err)
		return
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	writeAPI(w, http.StatusOK, entries, nil)
}
