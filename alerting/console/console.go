// Package console is the operator-facing state around alerts: it records
// notification attempts and escalations in the history, tracks when each
// alert was first notified, and takes acknowledgements — measuring time to
// acknowledge, the SMM MTTA SLO.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/provider"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

// Console ties the alert store, ack state and history together.
type Console struct {
	alerts  provider.Alerts
	acks    *acks.Store
	history *history.Store
	logger  *slog.Logger
	status  StatusFunc

	ackSeconds  *prometheus.HistogramVec
	ackCount    *prometheus.CounterVec
	renotify    Renotifier // set by SetRenotifier before the first lapse
	attempts    *prometheus.CounterVec
	escalations *prometheus.CounterVec
	ok, total   atomic.Int64
}

// New builds a console over the Alertmanager's alert store and status
// (status may be nil: every alert active, no receivers) and registers its
// metrics.
func New(alerts provider.Alerts, status StatusFunc, st *acks.Store, h *history.Store, logger *slog.Logger, reg prometheus.Registerer) *Console {
	c := &Console{
		alerts: alerts, status: status, acks: st, history: h, logger: logger.With("component", "console"),
		ackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smm_appliance_alert_acknowledge_seconds",
			Help:    "Time from an alert's first notification to its acknowledgement (MTTA), by the channel the ack came from (console, link, pagerduty, slack).",
			Buckets: []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400},
		}, []string{"severity", "team", "alertname", "via"}),
		ackCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smm_appliance_alert_acks_total",
			Help: "Acknowledgements by alert name, team, reason (working_on_it, false_positive, not_actionable, duplicate) and channel.",
		}, []string{"alertname", "team", "reason", "via"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smm_appliance_notification_attempts_total",
			Help: "Notification attempts by receiver, integration and outcome (success, failure, or logged: the log fallback of a receiver without a channel, which reached nobody).",
		}, []string{"receiver", "integration", "outcome"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smm_appliance_escalations_total",
			Help: "Escalation notifications delivered, by receiver and step.",
		}, []string{"receiver", "step"}),
	}
	ratio := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smm_appliance_notification_delivery_success_ratio",
		Help: "Share of notification attempts that succeeded since start (1 before any attempt; the log fallback is not counted); the SLO is 0.995.",
	}, func() float64 {
		t := c.total.Load()
		if t == 0 {
			return 1
		}
		return float64(c.ok.Load()) / float64(t)
	})
	reg.MustRegister(c.ackSeconds, c.ackCount, c.attempts, c.escalations, ratio)
	return c
}

func refs(as []*alert.Alert, resolved []bool) []history.AlertRef {
	out := make([]history.AlertRef, len(as))
	for i, a := range as {
		st := "firing"
		if resolved != nil && resolved[i] {
			st = "resolved"
		}
		ls := make(map[string]string, len(a.Labels))
		for k, v := range a.Labels {
			ls[string(k)] = string(v)
		}
		out[i] = history.AlertRef{Fingerprint: a.Fingerprint().String(), Alertname: a.Name(), Severity: string(a.Labels["severity"]), Status: st, Labels: ls}
	}
	return out
}

// Observe is the embedded Alertmanager's observer: every attempt goes to the
// history; a delivered firing notification starts the alert's escalation
// clock. An attempt for escalation copies (the `escalated` route) is
// recorded as the escalation of the alert it copies, under that alert's
// fingerprint, and starts no clock.
func (c *Console) Observe(at alertmanager.Attempt) {
	outcome := "success"
	switch {
	case at.Err != nil:
		outcome = "failure"
		c.total.Add(1)
	case at.Integration == alertmanager.LogIntegration:
		// The log fallback reached nobody: not a delivery, and not a
		// failed one either — counted apart, outside the delivery ratio.
		outcome = "logged"
	default:
		c.ok.Add(1)
		c.total.Add(1)
	}
	c.attempts.WithLabelValues(at.Receiver, at.Integration, outcome).Inc()
	if step := escalationStep(at.Alerts); step > 0 {
		c.observeEscalation(at, step)
		return
	}
	e := history.Entry{
		Time: at.Time, Kind: history.KindNotification, Receiver: at.Receiver, Integration: at.Integration,
		GroupKey: at.GroupKey, Alerts: refs(at.Alerts, at.Resolved), Success: at.Err == nil,
		DurationSeconds: at.Duration.Seconds(), Attempt: at.Attempt,
		Logged:  at.Err == nil && at.Integration == alertmanager.LogIntegration,
		Channel: at.Channel, Message: at.Message,
	}
	if at.Err != nil {
		e.Error = at.Err.Error()
	}
	if err := c.history.Append(e); err != nil {
		c.logger.Error("record notification", "err", err)
	}
	if at.Err != nil {
		return
	}
	notices := make([]acks.Notice, 0, len(at.Alerts))
	for i, a := range at.Alerts {
		if !at.Resolved[i] {
			notices = append(notices, acks.Notice{Fingerprint: a.Fingerprint().String(), Alertname: a.Name(), Severity: string(a.Labels["severity"]), Team: string(a.Labels["team"])})
		}
	}
	c.acks.Notified(at.Time, notices...)
}

// escalationStep is the step of the escalation copies in a notification,
// 0 if it carries none. The escalated route holds copies only, so one copy
// says it for the whole notification.
func escalationStep(as []*alert.Alert) int {
	for _, a := range as {
		if n := escalation.StepOf(a.Labels); n > 0 {
			return n
		}
	}
	return 0
}

// observeEscalation records the delivery of an escalation step: one entry
// per attempt at the firing copies. The copies' resolution (the alert was
// acknowledged or resolved) is delivered too but is not another
// escalation.
func (c *Console) observeEscalation(at alertmanager.Attempt, step int) {
	var firing []history.AlertRef
	for i, a := range at.Alerts {
		if at.Resolved[i] {
			continue
		}
		firing = append(firing, history.AlertRef{
			Fingerprint: escalation.Original(a.Labels).String(), Alertname: a.Name(),
			Severity: string(a.Labels["severity"]), Status: "firing",
		})
	}
	if len(firing) == 0 {
		return
	}
	e := history.Entry{
		Time: at.Time, Kind: history.KindEscalation, Receiver: at.Receiver, Integration: at.Integration,
		GroupKey: at.GroupKey, Step: step, Alerts: firing, Success: at.Err == nil,
		DurationSeconds: at.Duration.Seconds(), Attempt: at.Attempt,
		Logged:  at.Err == nil && at.Integration == alertmanager.LogIntegration,
		Channel: at.Channel, Message: at.Message,
	}
	if at.Err != nil {
		e.Error = at.Err.Error()
	} else {
		c.escalations.WithLabelValues(at.Receiver, strconv.Itoa(step)).Inc()
	}
	if err := c.history.Append(e); err != nil {
		c.logger.Error("record escalation", "err", err)
	}
}

// ErrNotFound is returned for a fingerprint that is not a current alert.
var ErrNotFound = errors.New("no such alert")

func (c *Console) find(fp string) (*alert.Alert, error) {
	f, err := model.ParseFingerprint(fp)
	if err != nil {
		return nil, fmt.Errorf("fingerprint %q: %w", fp, err)
	}
	a, err := c.alerts.Get(f)
	if err != nil || a == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, fp)
	}
	return a, nil
}

// Ack acknowledges alerts by fingerprint from the console (an alert group
// is acked by passing all its fingerprints); AckWith says more.
func (c *Console) Ack(ctx context.Context, fps []string, by, comment string) ([]acks.State, error) {
	return c.AckWith(ctx, AckRequest{Fingerprints: fps, By: by, Comment: comment})
}

// Unack removes an acknowledgement.
func (c *Console) Unack(ctx context.Context, fp, by string) (acks.State, error) {
	st, err := c.acks.Unacknowledge(fp)
	if errors.Is(err, acks.ErrUnknownAlert) {
		return st, fmt.Errorf("%w: %s is not acknowledged", ErrNotFound, fp)
	}
	if err != nil {
		return st, err
	}
	ref := history.AlertRef{Fingerprint: fp, Alertname: st.Alertname, Severity: st.Severity}
	if err := c.history.Append(history.Entry{Kind: history.KindUnack, Alerts: []history.AlertRef{ref}, Success: true, User: by}); err != nil {
		c.logger.Error("record unack", "err", err)
	}
	return st, nil
}

// States returns the ack and escalation state of every known alert.
func (c *Console) States() map[string]acks.State {
	out := map[string]acks.State{}
	for _, st := range c.acks.List() {
		out[st.Fingerprint] = st
	}
	return out
}

// History queries the history.
func (c *Console) History(f history.Filter) ([]history.Entry, error) { return c.history.Query(f) }
