package slo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/smm-architect/smm-appliance/alerting/acks"
)

// FlappingEpisodes is how many times an alert must fire (and resolve in
// between) in the window to be reported as flapping.
const FlappingEpisodes = 3

// neverFiredWindow is how far back "never fired" looks, whatever the
// review's window.
const neverFiredWindow = 30 * 24 * time.Hour

// AlertCount is how often one alert (by name) fired in the window.
type AlertCount struct {
	Alertname string `json:"alertname"`
	Severity  string `json:"severity"`
	Fired     int    `json:"fired"`
	// Alerts is the number of distinct alerts (label sets) that fired.
	Alerts int `json:"alerts"`
}

// Flap is one alert (one label set) that fired and resolved repeatedly.
type Flap struct {
	Alertname   string `json:"alertname"`
	Fingerprint string `json:"fingerprint"`
	Fired       int    `json:"fired"`
}

// SilenceRun is a silence created in the window and how long it ran.
type SilenceRun struct {
	Silence
	// RanSeconds is from its start to its end, or to the review's end if
	// it is still active.
	RanSeconds float64 `json:"ranSeconds"`
	Active     bool    `json:"active"`
}

// Review is the weekly review of one window.
type Review struct {
	Window     string       `json:"window"`
	From       time.Time    `json:"from"`
	To         time.Time    `json:"to"`
	Objectives []Objective  `json:"objectives"`
	Frequent   []AlertCount `json:"frequent"`
	Flapping   []Flap       `json:"flapping"`
	// NeverFired lists the alerting rules with no firing in 30 days.
	NeverFired []string     `json:"neverFired"`
	Failures   []Delivery   `json:"deliveryFailures"`
	Silences   []SilenceRun `json:"silences"`
	Errors     []string     `json:"errors,omitempty"`
}

// maxFrequent bounds the "most frequent alerts" table.
const maxFrequent = 20

// ComputeReview builds the review of the window that ends at now.
func ComputeReview(ctx context.Context, src Sources, window string, d time.Duration, now time.Time) Review {
	rep := Compute(ctx, src, window, d, now)
	rv := Review{Window: window, From: rep.From, To: now, Objectives: rep.Objectives, Errors: rep.Errors,
		Frequent: []AlertCount{}, Flapping: []Flap{}, NeverFired: []string{}, Failures: []Delivery{}, Silences: []SilenceRun{}}
	for _, dl := range rep.Delivery {
		if dl.Failed > 0 || dl.FailedAttempt > 0 {
			rv.Failures = append(rv.Failures, dl)
		}
	}

	// The episodes of 30 days serve "never fired"; those of the window the
	// rest.
	longest := max(d, neverFiredWindow)
	var eps []*episode
	if src.History != nil {
		es, err := src.History(now.Add(-longest), now)
		if err != nil {
			rv.Errors = append(rv.Errors, "history: "+err.Error())
		}
		var states []acks.State
		if src.Acks != nil {
			states = src.Acks()
		}
		eps = episodes(sortedEntries(es), states)
	}
	from := now.Add(-d)
	byName := map[string]*AlertCount{}
	distinct := map[string]map[string]bool{}
	byFP := map[string]*Flap{}
	firedRecently := map[string]bool{}
	for _, e := range eps {
		firedRecently[e.alertname] = true
		if e.start.Before(from) {
			continue
		}
		c := byName[e.alertname]
		if c == nil {
			c = &AlertCount{Alertname: e.alertname, Severity: e.severity}
			byName[e.alertname] = c
			distinct[e.alertname] = map[string]bool{}
		}
		c.Fired++
		distinct[e.alertname][e.fp] = true
		f := byFP[e.fp]
		if f == nil {
			f = &Flap{Alertname: e.alertname, Fingerprint: e.fp}
			byFP[e.fp] = f
		}
		f.Fired++
	}
	for name, c := range byName {
		c.Alerts = len(distinct[name])
		rv.Frequent = append(rv.Frequent, *c)
	}
	slices.SortFunc(rv.Frequent, func(a, b AlertCount) int {
		return cmp.Or(cmp.Compare(b.Fired, a.Fired), cmp.Compare(a.Alertname, b.Alertname))
	})
	if len(rv.Frequent) > maxFrequent {
		rv.Frequent = rv.Frequent[:maxFrequent]
	}
	for _, f := range byFP {
		if f.Fired >= FlappingEpisodes {
			rv.Flapping = append(rv.Flapping, *f)
		}
	}
	slices.SortFunc(rv.Flapping, func(a, b Flap) int {
		return cmp.Or(cmp.Compare(b.Fired, a.Fired), cmp.Compare(a.Alertname, b.Alertname), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})

	// An alert that fired but was silenced or inhibited was never
	// notified, so the history lacks it: the TSDB's ALERTS series has it.
	if src.Query != nil {
		res, err := src.Query(ctx, fmt.Sprintf(`count by (alertname) (max_over_time(ALERTS{alertstate="firing"}[%s]))`, promDuration(neverFiredWindow)), now)
		if err != nil {
			rv.Errors = append(rv.Errors, "ALERTS: "+err.Error())
		}
		for _, s := range res {
			firedRecently[s.Labels["alertname"]] = true
		}
	}
	if src.AlertRules != nil {
		for _, name := range src.AlertRules() {
			if !firedRecently[name] && !slices.Contains(rv.NeverFired, name) {
				rv.NeverFired = append(rv.NeverFired, name)
			}
		}
		slices.Sort(rv.NeverFired)
	}

	if src.Silences != nil {
		for _, s := range src.Silences() {
			if s.StartsAt.Before(from) || s.StartsAt.After(now) {
				continue
			}
			end := s.EndsAt
			active := end.After(now)
			if active {
				end = now
			}
			rv.Silences = append(rv.Silences, SilenceRun{Silence: s, RanSeconds: max(0, end.Sub(s.StartsAt).Seconds()), Active: active})
		}
		slices.SortFunc(rv.Silences, func(a, b SilenceRun) int {
			return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID))
		})
	}
	return rv
}
