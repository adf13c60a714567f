package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/notify"
)

// Renotify sends alerts once through a receiver's integrations, outside the
// dispatcher: what a lapsed snooze needs. The dispatcher would not send
// them again (the notification log has them as delivered until
// repeat_interval); this is the same message, through the same templates,
// observed and recorded in the history like any other. groupKey is the
// group's key from its last notification, so PagerDuty's dedup key names
// the same incident; empty, one is made up.
func (am *Alertmanager) Renotify(ctx context.Context, receiver, groupKey string, alerts ...*alert.Alert) error {
	m := am.receivers.Load()
	if m == nil {
		return errors.New("alertmanager not configured yet")
	}
	ints, ok := (*m)[receiver]
	if !ok {
		return fmt.Errorf("receiver %q is not routed to in the configuration in force", receiver)
	}
	if groupKey == "" {
		groupKey = "{}/snooze:" + receiver
	}
	ctx = notify.WithReceiverName(ctx, receiver)
	ctx = notify.WithGroupKey(ctx, groupKey)
	ctx = notify.WithNow(ctx, time.Now())
	ctx = notify.WithNotificationReason(ctx, notify.ReasonRepeatIntervalElapsed)
	var errs []error
	for _, i := range ints {
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		v := i.Notify(ictx, alerts...)
		cancel()
		if err := v.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", i.Name(), i.Index(), err))
		}
	}
	return errors.Join(errs...)
}

// GroupAlerts returns the fingerprints of the firing alerts of the groups
// in the running dispatcher whose group key match accepts: what a
// PagerDuty incident (dedup key = hash of the group key) stands for now.
// It reads the dispatcher, not the history, so it also finds groups a
// cluster peer sent.
func (am *Alertmanager) GroupAlerts(ctx context.Context, match func(groupKey string) bool) []string {
	d := am.dispatcher.Load()
	if d == nil {
		return nil
	}
	groups, _, err := d.Groups(ctx, func(*dispatch.Route) bool { return true }, func(a *alert.Alert, now time.Time) (alert.AlertStatus, bool) {
		return alert.AlertStatus{}, !a.ResolvedAt(now)
	})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		if !match(g.GroupKey) {
			continue
		}
		for _, a := range g.Alerts {
			if fp := a.Fingerprint().String(); !seen[fp] {
				seen[fp] = true
				out = append(out, fp)
			}
		}
	}
	return out
}
