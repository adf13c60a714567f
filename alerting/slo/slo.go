// Package slo computes the alerting system's own service-level objectives
// (the seed's four: processing latency, delivery, false positives, MTTA) and
// the weekly review, from what the appliance already keeps: the
// notification history, the acknowledgement store, and — for processing
// latency, which only the notification path can measure — the histogram
// the Recorder exports, read back from the TSDB (the appliance scrapes
// itself), so the figure survives restarts and covers 30 days.
package slo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

// The objectives (alerting spec, "SLOs of the alerting system").
const (
	LatencyObjective       = 30 * time.Second
	LatencyQuantile        = 0.95
	DeliveryObjective      = 0.995
	FalsePositiveObjective = 0.05
	MTTAObjective          = 10 * time.Minute
)

// episodeLookback is how much history before a window is replayed to
// know the alerts firing when it starts; older ones are recognised by their
// first notification in the acks store (kept as long: acks.DefaultRetention).
const episodeLookback = acks.DefaultRetention

// Windows are the periods a report covers: "live" is the last hour (the
// window the meta-alerts use), then 7 and 30 days.
var Windows = map[string]time.Duration{
	"live": time.Hour,
	"1h":   time.Hour,
	"24h":  24 * time.Hour,
	"7d":   7 * 24 * time.Hour,
	"30d":  30 * 24 * time.Hour,
}

// ParseWindow resolves a window name; empty means live.
func ParseWindow(name string) (string, time.Duration, error) {
	if name == "" {
		name = "live"
	}
	d, ok := Windows[name]
	if !ok {
		return "", 0, fmt.Errorf("window must be live, 1h, 24h, 7d or 30d, not %q", name)
	}
	return name, d, nil
}

// Sample is one element of an instant query's result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// QueryFunc evaluates an instant PromQL query (a vector or a scalar).
type QueryFunc func(ctx context.Context, expr string, t time.Time) ([]Sample, error)

// scalar is the first element's value; ok is false when the result is
// empty or not a number (no data).
func (q QueryFunc) scalar(ctx context.Context, expr string, t time.Time) (float64, bool, error) {
	res, err := q(ctx, expr, t)
	if err != nil || len(res) == 0 || math.IsNaN(res[0].Value) {
		return 0, false, err
	}
	return res[0].Value, true, nil
}

// Sources are what the figures are computed from. Any may be nil: the
// figures that need it are then reported without data.
type Sources struct {
	// History returns the entries in [since, until], any order.
	History func(since, until time.Time) ([]history.Entry, error)
	Acks    func() []acks.State
	Query   QueryFunc
	// Teams maps an alert name to the team label its rule sets.
	Teams func() map[string]string
	// AlertRules lists the alerting rules' names (for "never fired").
	AlertRules func() []string
	// Silences lists the silences the Alertmanager still holds.
	Silences func() []Silence
}

// Silence is one silence, as the review reports it.
type Silence struct {
	ID        string    `json:"id"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Matchers  string    `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	// UpdatedAt is when it was last changed; an expired silence's EndsAt
	// is when it was expired.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Objective is one SLO's figure in a window.
type Objective struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	Objective string `json:"objective"`
	// Value is the figure (seconds or a ratio, see Unit); nil when the
	// window holds nothing to measure.
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit"`
	Target float64  `json:"target"`
	// Met says whether Value meets the objective; nil without a value.
	Met    *bool  `json:"met"`
	Detail string `json:"detail"`
}

// Delivery is the delivery of one receiver's integration.
type Delivery struct {
	Receiver      string `json:"receiver"`
	Integration   string `json:"integration"`
	Notifications int    `json:"notifications"`
	Delivered     int    `json:"delivered"`
	Failed        int    `json:"failed"`         // never delivered
	FailedAttempt int    `json:"failedAttempts"` // attempts that failed, retried or not
	// Logged are notifications only the log fallback handled (the
	// receiver's channels lack their secrets): not in Notifications.
	Logged    int      `json:"logged"`
	Ratio     *float64 `json:"ratio"`
	LastError string   `json:"lastError,omitempty"`
}

// MTTA is the time to acknowledge of one severity and team.
type MTTA struct {
	Severity     string   `json:"severity"`
	Team         string   `json:"team"`
	Notified     int      `json:"notified"`
	Acked        int      `json:"acked"`
	MeanSeconds  *float64 `json:"meanSeconds"`
	P50Seconds   *float64 `json:"p50Seconds"`
	MaxSeconds   *float64 `json:"maxSeconds"`
	FalsePosAcks int      `json:"falsePositives"`
}

// Report is the SLO report of one window.
type Report struct {
	Window     string      `json:"window"`
	From       time.Time   `json:"from"`
	To         time.Time   `json:"to"`
	Objectives []Objective `json:"objectives"`
	Delivery   []Delivery  `json:"delivery"`
	MTTA       []MTTA      `json:"mtta"`
	// Errors lists the sources that could not be read; their figures are
	// reported without data, the others still are.
	Errors []string `json:"errors,omitempty"`
}

// Compute builds the report of the window that ends at now.
func Compute(ctx context.Context, src Sources, window string, d time.Duration, now time.Time) Report {
	from := now.Add(-d)
	r := Report{Window: window, From: from, To: now, Delivery: []Delivery{}, MTTA: []MTTA{}}
	var entries []history.Entry
	if src.History != nil {
		// The day before the window tells which alerts were already
		// firing when it began (their repeats are no new firing).
		es, err := src.History(from.Add(-episodeLookback), now)
		if err != nil {
			r.Errors = append(r.Errors, "history: "+err.Error())
		}
		entries = sortedEntries(es)
	}
	var states []acks.State
	if src.Acks != nil {
		states = src.Acks()
	}
	teams := map[string]string{}
	if src.Teams != nil {
		teams = src.Teams()
	}
	eps := episodes(entries, states)

	notified := 0
	for _, e := range eps {
		if !e.notified.IsZero() && !e.notified.Before(from) {
			notified++
		}
	}
	r.Objectives = append(r.Objectives, latencyObjective(ctx, src.Query, d, now, notified, &r))

	r.Delivery = delivery(entries[sort.Search(len(entries), func(i int) bool { return !entries[i].Time.Before(from) }):])
	var total, delivered int
	for _, dl := range r.Delivery {
		total += dl.Notifications
		delivered += dl.Delivered
	}
	obj := Objective{Name: "delivery", Title: "Notification delivery", Objective: "≥ 99.5 %", Unit: "ratio", Target: DeliveryObjective}
	if total > 0 {
		v := float64(delivered) / float64(total)
		obj.Value, obj.Met = &v, ptr(v >= DeliveryObjective)
		obj.Detail = fmt.Sprintf("%d of %d notifications delivered", delivered, total)
	} else {
		obj.Detail = "no notification in the window"
	}
	r.Objectives = append(r.Objectives, obj)

	// False positives: alerts whose acknowledgement gave the reason
	// false_positive, over the alerts that fired. Acks without a reason
	// (made before reasons existed) count as not false positives.
	fired := 0
	for _, e := range eps {
		if !e.start.Before(from) {
			fired++
		}
	}
	fp := len(falsePositives(entries, states, from, now))
	obj = Objective{Name: "false_positives", Title: "False positives", Objective: "< 5 % of alerts", Unit: "ratio", Target: FalsePositiveObjective}
	if fired > 0 {
		v := float64(fp) / float64(fired)
		obj.Value, obj.Met = &v, ptr(v < FalsePositiveObjective)
		obj.Detail = fmt.Sprintf("%d of %d alerts acknowledged as false positives", fp, fired)
	} else {
		obj.Detail = "no alert fired in the window"
	}
	r.Objectives = append(r.Objectives, obj)

	r.MTTA = mtta(eps, states, teams, from)
	var crit []float64
	notified = 0
	for _, e := range eps {
		if e.severity != "critical" || e.notified.IsZero() || e.notified.Before(from) {
			continue
		}
		notified++
		if !e.acked.IsZero() {
			crit = append(crit, e.acked.Sub(e.notified).Seconds())
		}
	}
	obj = Objective{Name: "mtta_critical", Title: "Mean time to acknowledge (critical)", Objective: "< 10 min", Unit: "seconds", Target: MTTAObjective.Seconds()}
	if len(crit) > 0 {
		v := mean(crit)
		obj.Value, obj.Met = &v, ptr(v < MTTAObjective.Seconds())
		obj.Detail = fmt.Sprintf("%d of %d critical alerts acknowledged", len(crit), notified)
	} else if notified > 0 {
		obj.Detail = fmt.Sprintf("none of %d critical alerts acknowledged", notified)
	} else {
		obj.Detail = "no critical alert notified in the window"
	}
	r.Objectives = append(r.Objectives, obj)
	return r
}

// latencyObjective reads the processing-latency histogram from the TSDB.
// The figures are shares of the histogram's increase, which PromQL
// extrapolates to the window's edges; the count of alerts comes from the
// history (notified, exact) when it has any.
func latencyObjective(ctx context.Context, q QueryFunc, d time.Duration, now time.Time, notified int, r *Report) Objective {
	obj := Objective{Name: "processing_latency", Title: "Alert processing latency (p95)", Objective: "p95 < 30 s", Unit: "seconds", Target: LatencyObjective.Seconds()}
	if q == nil {
		obj.Detail = "no TSDB"
		return obj
	}
	rng := promDuration(d)
	count, ok, err := q.scalar(ctx, fmt.Sprintf("sum(increase(%s_count[%s]))", MetricProcessing, rng), now)
	if err != nil {
		r.Errors = append(r.Errors, "latency: "+err.Error())
		obj.Detail = "query failed"
		return obj
	}
	if !ok || count < 0.5 {
		obj.Detail = "no alert notified in the window"
		return obj
	}
	p95, ok, err := q.scalar(ctx, fmt.Sprintf("histogram_quantile(%g, sum by (le) (increase(%s_bucket[%s])))", LatencyQuantile, MetricProcessing, rng), now)
	if err != nil || !ok {
		if err != nil {
			r.Errors = append(r.Errors, "latency: "+err.Error())
		}
		obj.Detail = "query failed"
		return obj
	}
	within, _, _ := q.scalar(ctx, fmt.Sprintf(`sum(increase(%s_bucket{le=~"30(\\.0)?"}[%s])) / sum(increase(%s_count[%s]))`, MetricProcessing, rng, MetricProcessing, rng), now)
	obj.Value, obj.Met = &p95, ptr(p95 < LatencyObjective.Seconds())
	if notified > 0 {
		count = float64(notified)
	}
	obj.Detail = fmt.Sprintf("%.0f alerts, %.1f %% first notified within 30 s", count, 100*within)
	return obj
}

func promDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func sortedEntries(es []history.Entry) []history.Entry {
	es = slices.Clone(es)
	slices.SortStableFunc(es, func(a, b history.Entry) int { return a.Time.Compare(b.Time) })
	return es
}

func ptr[T any](v T) *T { return &v }

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// falsePositives are the alerts acknowledged with the reason false_positive
// within [from, now]: from the history's ack entries, which keep the reason
// for the history's retention, and from the ack store, which still holds
// acks whose history is gone or not yet written. Each alert counts once.
func falsePositives(entries []history.Entry, states []acks.State, from, now time.Time) map[string]bool {
	fps := map[string]bool{}
	for _, e := range entries {
		if e.Kind != history.KindAck || e.Reason != acks.ReasonFalsePositive || e.Time.Before(from) || e.Time.After(now) {
			continue
		}
		for _, a := range e.Alerts {
			fps[a.Fingerprint] = true
		}
	}
	for _, st := range states {
		if st.Ack != nil && st.Ack.Reason == acks.ReasonFalsePositive && !st.Ack.At.Before(from) && !st.Ack.At.After(now) {
			fps[st.Fingerprint] = true
		}
	}
	return fps
}
