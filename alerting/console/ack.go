package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/alert"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

// AckRequest is one acknowledgement of one or more alerts.
type AckRequest struct {
	Fingerprints []string
	By, Comment  string
	// Reason is one of acks.Reasons; empty means acks.ReasonWorkingOn.
	Reason string
	// Via is the channel (acks.Via*); empty means the console.
	Via string
	// Until makes the ack a snooze that lapses then; zero: until resolved.
	Until time.Time
}

// MinSnooze and MaxSnooze bound a snooze. The minimum is short on purpose:
// a test (and an operator who wants a reminder in a minute) can use it.
const (
	MinSnooze = time.Second
	MaxSnooze = 7 * 24 * time.Hour
)

// AckWith acknowledges the alerts in one durable write, records it in the
// history (with reason and channel) and counts it: the MTTA histogram per
// severity, team, alert name and channel, and the ack counter per reason.
func (c *Console) AckWith(ctx context.Context, req AckRequest) ([]acks.State, error) {
	if req.By == "" {
		return nil, errors.New("who acknowledges is required (\"by\")")
	}
	if len(req.Fingerprints) == 0 {
		return nil, errors.New("no fingerprints given")
	}
	if err := acks.CheckReason(req.Reason); err != nil {
		return nil, err
	}
	if req.Reason == "" {
		req.Reason = acks.ReasonWorkingOn
	}
	if req.Via == "" {
		req.Via = acks.ViaConsole
	}
	now := time.Now()
	if !req.Until.IsZero() {
		if d := req.Until.Sub(now); d < MinSnooze-time.Millisecond || d > MaxSnooze {
			return nil, fmt.Errorf("a snooze lasts %s to %s, not %s", MinSnooze, MaxSnooze, d.Round(time.Second))
		}
	}
	var found []*alert.Alert
	for _, fp := range req.Fingerprints {
		a, err := c.find(fp)
		if err != nil {
			return nil, err
		}
		found = append(found, a)
	}
	// One durable write for the whole request (STYLE.md 19).
	targets := make([]acks.Target, len(found))
	for i, a := range found {
		targets[i] = acks.Target{Fingerprint: a.Fingerprint().String(), Alertname: a.Name(), Severity: string(a.Labels["severity"]), Team: string(a.Labels["team"])}
	}
	// MTTA counts the ack that answered the page: not a second ack of an
	// alert already acknowledged (a reason changed, PagerDuty's resolve
	// after its acknowledge).
	answered := map[string]bool{}
	for _, t := range targets {
		if st, ok := c.acks.Get(t.Fingerprint); ok && st.AckedAt(now) {
			answered[t.Fingerprint] = true
		}
	}
	out, err := c.acks.AcknowledgeAll(targets, acks.Ack{By: req.By, Comment: req.Comment, At: now, Reason: req.Reason, Via: req.Via, Until: req.Until})
	if err != nil {
		return nil, err
	}
	for i, st := range out {
		team := st.Team
		if team == "" {
			team = targets[i].Team
		}
		c.ackCount.WithLabelValues(st.Alertname, team, req.Reason, req.Via).Inc()
		if !st.FirstNotifiedAt.IsZero() && !answered[st.Fingerprint] {
			c.ackSeconds.WithLabelValues(st.Severity, team, st.Alertname, req.Via).Observe(now.Sub(st.FirstNotifiedAt).Seconds())
		}
	}
	e := history.Entry{Time: now, Kind: history.KindAck, Alerts: refs(found, nil), Success: true, User: req.By, Comment: req.Comment, Reason: req.Reason, Via: req.Via}
	if !req.Until.IsZero() {
		u := req.Until.UTC()
		e.Until = &u
	}
	if err := c.history.Append(e); err != nil {
		c.logger.Error("record ack", "err", err)
	}
	return out, nil
}

// Renotifier sends alerts once more through a receiver (the embedded
// Alertmanager's Renotify).
type Renotifier func(ctx context.Context, receiver, groupKey string, alerts ...*alert.Alert) error

// SetRenotifier sets how a lapsed snooze notifies the team again.
func (c *Console) SetRenotifier(r Renotifier) { c.renotify = r }

// LapseSnoozes ends the snoozes that are due (acks.Store.Lapse: persisted
// and gossiped as an un-ack at the snooze's end, so the escalation clock
// runs again everywhere) and notifies the team again of each alert still
// firing and not silenced: through the receivers its route sends to now,
// once, with the group key of its last notification to that receiver. In
// a cluster a node lapses a snooze wait after its end (its position in the
// gossip order times the peer timeout, as the notification pipeline
// waits): the first node lapses and re-sends, the others get the lapse by
// gossip first and send nothing, unless the first is down.
func (c *Console) LapseSnoozes(ctx context.Context, now time.Time, wait time.Duration) {
	lapsed, err := c.acks.Lapse(now.Add(-wait))
	if err != nil {
		c.logger.Error("lapse snoozes (retried at the next check)", "err", err)
		return
	}
	byReceiver := map[string][]*alert.Alert{}
	groupKeys := map[string]string{}
	for _, st := range lapsed {
		ref := history.AlertRef{Fingerprint: st.Fingerprint, Alertname: st.Alertname, Severity: st.Severity, Status: "firing"}
		a, err := c.find(st.Fingerprint)
		if err != nil || a.ResolvedAt(now) {
			ref.Status = "resolved"
			a = nil
		}
		if err := c.history.Append(history.Entry{Time: now, Kind: history.KindSnoozeLapsed, Alerts: []history.AlertRef{ref}, Success: true, User: st.Ack.By}); err != nil {
			c.logger.Error("record lapsed snooze", "err", err)
		}
		if a == nil || c.status == nil || c.renotify == nil {
			continue
		}
		status, receivers := c.status(ctx, a)
		if status.State == alert.AlertStateSuppressed {
			continue // silenced or inhibited: the silence says not to
		}
		for _, r := range receivers {
			byReceiver[r] = append(byReceiver[r], a)
			if _, ok := groupKeys[r]; !ok {
				groupKeys[r] = c.lastGroupKey(r, st.Fingerprint)
			}
		}
	}
	for r, as := range byReceiver {
		if err := c.renotify(ctx, r, groupKeys[r], as...); err != nil {
			c.logger.Error("notify again after a snooze", "receiver", r, "err", err)
		}
	}
}

// lastGroupKey is the group key of the last notification of fp to receiver.
func (c *Console) lastGroupKey(receiver, fp string) string {
	entries, err := c.history.Query(history.Filter{Kind: history.KindNotification, Receiver: receiver, Limit: 1000})
	if err != nil {
		return ""
	}
	for _, e := range entries {
		for _, a := range e.Alerts {
			if a.Fingerprint == fp {
				return e.GroupKey
			}
		}
	}
	return ""
}
