package slo

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
)

// Metric names the recorder exports and the SLO queries and meta-alerts read.
const (
	MetricProcessing    = "smm_appliance_alert_processing_seconds"
	MetricNotifications = "smm_appliance_slo_notifications_total"
	MetricDelivered     = "smm_appliance_slo_notifications_delivered_total"
)

// LatencyBuckets bound the processing-latency histogram; 30 s (the SLO) is
// a bucket boundary so the share under it is exact.
var LatencyBuckets = []float64{1, 2, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600, 1800}

// maxSeen bounds the first-notification index: an alert storm of more
// distinct alerts than this forgets the oldest episodes (their later
// notifications are then not counted again: see Observe).
const maxSeen = 100000

// Recorder watches every notification attempt (the Alertmanager's
// observer) and records the SLO metrics: processing latency of each alert's
// first successful notification, and notifications sent and delivered.
type Recorder struct {
	processing    *prometheus.HistogramVec
	notifications *prometheus.CounterVec
	delivered     *prometheus.CounterVec
	now           func() time.Time
	// notifiedAt tells when an alert was first notified, from state that
	// survives a restart (the acks store), so repeats of an alert that
	// fired before the restart are not taken for first notifications.
	notifiedAt func(fp string) (time.Time, bool)

	mtx sync.Mutex
	// seen maps an alert's fingerprint to the StartsAt of the episode
	// whose first notification was already recorded.
	seen map[string]time.Time
}

// NewRecorder builds a recorder and registers its metrics. notifiedAt, if
// set, is asked when an alert was first notified before this process saw it;
// it must be read before the attempt itself is recorded there.
func NewRecorder(notifiedAt func(fp string) (time.Time, bool), reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricProcessing,
			Help:    "Time from the rule evaluation that fired an alert (its startsAt) to its first successful notification; the SLO is p95 < 30s.",
			Buckets: LatencyBuckets,
		}, []string{"severity"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricNotifications,
			Help: "Notifications (first attempts of a flush) by receiver and integration.",
		}, []string{"receiver", "integration"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDelivered,
			Help: "Notifications delivered (on any attempt of their flush), by receiver and integration; the SLO is 99.5% of " + MetricNotifications + ".",
		}, []string{"receiver", "integration"}),
		now:        time.Now,
		seen:       map[string]time.Time{},
		notifiedAt: notifiedAt,
	}
	// The shipped severities start at zero: increase() over a series
	// that appears with its first observation would miss that one.
	for _, sev := range []string{"critical", "warning", "info", "none"} {
		r.processing.WithLabelValues(sev)
	}
	if reg != nil {
		reg.MustRegister(r.processing, r.notifications, r.delivered)
	}
	return r
}

// Observe records one attempt. A notification is counted on its first
// attempt and as delivered on the attempt that succeeds, so retries that
// end in delivery do not count against the SLO; the gap between the two
// counters is what was never delivered (or is still being retried).
//
// Latency: an alert's first successful firing notification, over every
// receiver, ends its processing; it started at the alert's StartsAt, which
// the ruler sets to the evaluation that fired it (rules.SendAlerts'
// FiredAt). An alert that fires again (a new StartsAt) is a new episode.
// Escalation copies are notifications but not alerts of their own.
func (r *Recorder) Observe(at alertmanager.Attempt) {
	if at.Integration == alertmanager.LogIntegration {
		// The log fallback of a receiver without a channel secret reached
		// nobody and no channel failed: neither a delivery nor a failure
		// (the delivery SLO would page for a missing secret), and no first
		// notification for the processing latency.
		return
	}
	if at.Attempt <= 1 {
		r.notifications.WithLabelValues(at.Receiver, at.Integration).Inc()
	}
	if at.Err != nil {
		return
	}
	r.delivered.WithLabelValues(at.Receiver, at.Integration).Inc()
	done := at.Time.Add(at.Duration)
	r.mtx.Lock()
	defer r.mtx.Unlock()
	for i, a := range at.Alerts {
		if (i < len(at.Resolved) && at.Resolved[i]) || escalation.StepOf(a.Labels) > 0 || a.StartsAt.IsZero() {
			continue
		}
		fp := a.Fingerprint().String()
		if prev, ok := r.seen[fp]; ok && prev.Equal(a.StartsAt) {
			continue
		}
		if r.notifiedAt != nil {
			if t, ok := r.notifiedAt(fp); ok && !t.IsZero() && !t.Before(a.StartsAt) && t.Before(at.Time) {
				r.seen[fp] = a.StartsAt // notified before a restart
				continue
			}
		}
		if len(r.seen) >= maxSeen {
			r.pruneLocked()
		}
		r.seen[fp] = a.StartsAt
		r.processing.WithLabelValues(string(a.Labels["severity"])).Observe(max(0, done.Sub(a.StartsAt).Seconds()))
	}
}

// pruneLocked forgets episodes that started more than a day ago, or half
// of the index if none did.
func (r *Recorder) pruneLocked() {
	cutoff := r.now().Add(-24 * time.Hour)
	for fp, t := range r.seen {
		if t.Before(cutoff) {
			delete(r.seen, fp)
		}
	}
	if len(r.seen) < maxSeen {
		return
	}
	n := 0
	for fp := range r.seen {
		if n++; n > maxSeen/2 {
			break
		}
		delete(r.seen, fp)
	}
}
