package slo

import (
	"cmp"
	"slices"
	"time"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

// episode is one firing of one alert: from the first notification attempt
// that carried it firing (after it was unseen or resolved) to the first
// that carried it resolved.
type episode struct {
	fp, alertname, severity string
	start                   time.Time // first attempt, delivered or not
	notified                time.Time // first delivered notification; zero if none
	resolved                time.Time
	acked                   time.Time
}

// episodes replays the history (oldest first) into episodes. An alert that
// was firing before the window starts its episode at its first entry in it.
// Acks come from the history's ack entries, or from the acks store for an
// ack the history lacks (one made on a cluster peer reaches this node by
// gossip, not through its console).
//
// An alert met for the first time that the acks store says was first
// notified earlier has been firing since then: its episode starts at that
// first notification, not at this repeat.
func episodes(entries []history.Entry, states []acks.State) []*episode {
	firstNotified := make(map[string]time.Time, len(states))
	for _, st := range states {
		if !st.FirstNotifiedAt.IsZero() {
			firstNotified[st.Fingerprint] = st.FirstNotifiedAt
		}
	}
	var all []*episode
	cur := map[string]*episode{} // open episode per fingerprint
	last := map[string]*episode{}
	for _, e := range entries {
		switch e.Kind {
		case history.KindNotification:
			for _, a := range e.Alerts {
				ep := cur[a.Fingerprint]
				if a.Status == "resolved" {
					if ep != nil {
						ep.resolved = e.Time
						delete(cur, a.Fingerprint)
					}
					continue
				}
				if ep == nil {
					ep = &episode{fp: a.Fingerprint, alertname: a.Alertname, severity: a.Severity, start: e.Time}
					if _, seen := last[a.Fingerprint]; !seen {
						if t, ok := firstNotified[a.Fingerprint]; ok && t.Before(e.Time.Add(-time.Second)) {
							ep.start, ep.notified = t, t
						}
					}
					cur[a.Fingerprint], last[a.Fingerprint] = ep, ep
					all = append(all, ep)
				}
				if e.Success && ep.notified.IsZero() {
					ep.notified = e.Time
				}
			}
		case history.KindAck:
			for _, a := range e.Alerts {
				if ep := last[a.Fingerprint]; ep != nil && ep.acked.IsZero() && !ep.notified.IsZero() {
					ep.acked = maxTime(e.Time, ep.notified)
				}
			}
		}
	}
	for _, st := range states {
		ep := last[st.Fingerprint]
		if st.Ack == nil || ep == nil || !ep.acked.IsZero() || ep.notified.IsZero() || st.Ack.At.Before(ep.start) {
			continue
		}
		ep.acked = maxTime(st.Ack.At, ep.notified)
	}
	return all
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// delivery groups attempts into notifications: a first attempt (Attempt
// 1) starts one per receiver, integration and group, its retries belong to
// it, and it is delivered if any of them succeeded. Escalation
// notifications count like any other.
func delivery(entries []history.Entry) []Delivery {
	type key struct{ receiver, integration string }
	type flushKey struct {
		key
		group string
	}
	rows := map[key]*Delivery{}
	open := map[flushKey]*bool{} // delivered flag of the flush in progress
	for _, e := range entries {
		if e.Kind != history.KindNotification && e.Kind != history.KindEscalation {
			continue
		}
		k := key{e.Receiver, e.Integration}
		row := rows[k]
		if row == nil {
			row = &Delivery{Receiver: e.Receiver, Integration: e.Integration}
			rows[k] = row
		}
		if e.Logged {
			// The log fallback of a receiver without a channel secret:
			// it reached nobody, and no channel failed. Counted apart,
			// neither delivered nor failed.
			row.Logged++
			continue
		}
		fk := flushKey{k, e.GroupKey}
		done, ok := open[fk]
		if e.Attempt <= 1 || !ok {
			done = new(bool)
			open[fk] = done
			row.Notifications++
		}
		if e.Success {
			if !*done {
				*done = true
				row.Delivered++
			}
			continue
		}
		row.FailedAttempt++
		row.LastError = e.Error
	}
	out := make([]Delivery, 0, len(rows))
	for _, r := range rows {
		r.Failed = r.Notifications - r.Delivered
		if r.Notifications > 0 {
			r.Ratio = ptr(float64(r.Delivered) / float64(r.Notifications))
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Delivery) int {
		return cmp.Or(cmp.Compare(a.Receiver, b.Receiver), cmp.Compare(a.Integration, b.Integration))
	})
	return out
}

// mtta groups the episodes notified in the window by severity and team.
func mtta(eps []*episode, states []acks.State, teams map[string]string, from time.Time) []MTTA {
	type key struct{ severity, team string }
	falsePos := map[string]bool{}
	for _, st := range states {
		if st.Ack != nil && st.Ack.Reason == acks.ReasonFalsePositive {
			falsePos[st.Fingerprint] = true
		}
	}
	rows := map[key]*MTTA{}
	tta := map[key][]float64{}
	for _, e := range eps {
		if e.notified.IsZero() || e.notified.Before(from) {
			continue
		}
		team := teams[e.alertname]
		if team == "" {
			team = "unknown"
		}
		sev := cmp.Or(e.severity, "none")
		k := key{sev, team}
		row := rows[k]
		if row == nil {
			row = &MTTA{Severity: sev, Team: team}
			rows[k] = row
		}
		row.Notified++
		if !e.acked.IsZero() {
			row.Acked++
			tta[k] = append(tta[k], e.acked.Sub(e.notified).Seconds())
			if falsePos[e.fp] {
				row.FalsePosAcks++
			}
		}
	}
	out := make([]MTTA, 0, len(rows))
	for k, r := range rows {
		if xs := tta[k]; len(xs) > 0 {
			slices.Sort(xs)
			r.MeanSeconds, r.P50Seconds, r.MaxSeconds = ptr(mean(xs)), ptr(xs[len(xs)/2]), ptr(xs[len(xs)-1])
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b MTTA) int {
		return cmp.Or(cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)), cmp.Compare(a.Team, b.Team))
	})
	return out
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "warning":
		return 1
	case "info":
		return 2
	}
	return 3
}
