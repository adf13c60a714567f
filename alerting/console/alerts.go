package console

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/alert"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
)

// StatusFunc says, for one alert, what mutes it and where it is routed
// (the embedded Alertmanager's Status).
type StatusFunc func(ctx context.Context, a *alert.Alert) (alert.AlertStatus, []string)

// Alert is one firing alert as the console shows it: the Alertmanager's
// view (the v2 API's fields) with its acknowledgement and escalations.
type Alert struct {
	Fingerprint     string            `json:"fingerprint"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	StartsAt        time.Time         `json:"startsAt"`
	EndsAt          time.Time         `json:"endsAt"`
	GeneratorURL    string            `json:"generatorURL"`
	State           string            `json:"state"`
	SilencedBy      []string          `json:"silencedBy"`
	InhibitedBy     []string          `json:"inhibitedBy"`
	Receivers       []string          `json:"receivers"`
	Ack             *acks.Ack         `json:"ack"`
	FirstNotifiedAt *time.Time        `json:"firstNotifiedAt"`
	Escalations     []acks.Escalation `json:"escalations"`
}

// Alerts lists the alerts of the Alertmanager's store that are firing now,
// read from the store directly. Escalation copies are not
// listed: their alert is, with its escalations.
func (c *Console) Alerts(ctx context.Context) []Alert {
	now := time.Now()
	states := c.States()
	out := []Alert{}
	it := c.alerts.GetPending()
	defer it.Close()
	for a := range it.Next() {
		al := a.Data
		if al.ResolvedAt(now) || escalation.IsCopy(al.Labels) {
			continue
		}
		fp := al.Fingerprint().String()
		ca := Alert{
			Fingerprint: fp, Labels: map[string]string{}, Annotations: map[string]string{},
			StartsAt: al.StartsAt, EndsAt: al.EndsAt, GeneratorURL: al.GeneratorURL,
			State: string(alert.AlertStateActive), SilencedBy: []string{}, InhibitedBy: []string{},
			Receivers: []string{}, Escalations: []acks.Escalation{},
		}
		for k, v := range al.Labels {
			ca.Labels[string(k)] = string(v)
		}
		for k, v := range al.Annotations {
			ca.Annotations[string(k)] = string(v)
		}
		if c.status != nil {
			st, receivers := c.status(ctx, al)
			ca.State, ca.SilencedBy, ca.InhibitedBy = string(st.State), st.SilencedBy, st.InhibitedBy
			if receivers != nil {
				ca.Receivers = receivers
			}
		}
		if st, ok := states[fp]; ok {
			ca.Ack = st.Ack
			if !st.FirstNotifiedAt.IsZero() {
				t := st.FirstNotifiedAt
				ca.FirstNotifiedAt = &t
			}
			if st.Escalations != nil {
				ca.Escalations = st.Escalations
			}
		}
		out = append(out, ca)
	}
	// In fingerprint order, as the v2 API lists them.
	slices.SortFunc(out, func(a, b Alert) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}
