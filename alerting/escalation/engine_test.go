package escalation

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/alertmanager/alert"
	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/acks"
)

// bubble is an engine over a real alert store and ack store, running in a
// synctest bubble: its minutes pass at once.
type bubble struct {
	t      *testing.T
	path   string
	policy *Policy
	alerts *mem.Alerts
	acks   *acks.Store
	engine *Engine
	stop   func()
}

func newBubble(t *testing.T, p *Policy) *bubble {
	t.Helper()
	logger := promslog.NewNopLogger()
	alerts, err := mem.NewAlerts(t.Context(), time.Hour, 0, nil, logger, eventrecorder.NopRecorder(), prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	b := &bubble{t: t, path: filepath.Join(t.TempDir(), "acks.json"), policy: p, alerts: alerts}
	b.openAcks()
	b.start()
	t.Cleanup(func() {
		b.stop()
		alerts.Close()
		require.NoError(t, b.acks.Close())
	})
	return b
}

func (b *bubble) openAcks() {
	st, err := acks.Open(b.path, promslog.NewNopLogger())
	require.NoError(b.t, err)
	b.acks = st
}

func (b *bubble) start() {
	e := New(b.alerts, b.acks, promslog.NewNopLogger(), prometheus.NewRegistry())
	e.ApplyPolicy(b.policy)
	ctx, cancel := context.WithCancel(b.t.Context())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	b.engine = e
	b.stop = func() { cancel(); <-done; b.stop = func() {} }
}

// restart stops the engine, stays down for down, reopens the ack store
// from its file (what a restarted process has), and starts a new engine.
func (b *bubble) restart(down time.Duration) {
	b.stop()
	require.NoError(b.t, b.acks.Close())
	time.Sleep(down)
	b.openAcks()
	b.start()
}

func matcher(t *testing.T, name, value string) *labels.Matcher {
	m, err := labels.NewMatcher(labels.MatchEqual, name, value)
	require.NoError(t, err)
	return m
}

// chains is the documented example: critical database alerts go to the
// secondary on-call after 10 minutes and the manager after 30; other
// criticals to the manager after 30.
func chains(t *testing.T) *Policy {
	crit := matcher(t, "severity", "critical")
	return &Policy{
		CheckInterval: model.Duration(15 * time.Second),
		Chains: []Chain{
			{Name: "critical-database", Matchers: amcommoncfg.Matchers{crit, matcher(t, "team", "database")}, Steps: []Step{
				{After: model.Duration(10 * time.Minute), Receiver: "database-secondary"},
				{After: model.Duration(30 * time.Minute), Receiver: "engineering-manager"},
			}},
			{Name: "critical", Matchers: amcommoncfg.Matchers{crit}, Steps: []Step{
				{After: model.Duration(30 * time.Minute), Receiver: "escalation"},
			}},
		},
	}
}

// fire puts a firing alert, as the rules would, and records its first
// notification now.
func (b *bubble) fire(name, severity, team string) *alert.Alert {
	now := time.Now()
	a := alert.New(model.Alert{
		Labels:   model.LabelSet{"alertname": model.LabelValue(name), "severity": model.LabelValue(severity), "team": model.LabelValue(team)},
		StartsAt: now, EndsAt: now.Add(4 * time.Hour),
	}, now, false)
	require.NoError(b.t, b.alerts.Put(b.t.Context(), a))
	b.acks.Notified(now, acks.Notice{Fingerprint: a.Fingerprint().String(), Alertname: name, Severity: severity})
	return a
}

// copies returns the escalation copies of a in the store, "chain/step"
// to whether it is firing.
func (b *bubble) copies(a *alert.Alert) map[string]bool {
	out := map[string]bool{}
	it := b.alerts.GetPending()
	defer it.Close()
	now := time.Now()
	for c := range it.Next() {
		if n := StepOf(c.Data.Labels); n > 0 && Original(c.Data.Labels) == a.Fingerprint() {
			out[ChainOf(c.Data.Labels)+"/"+string(c.Data.Labels[LabelStep])] = !c.Data.ResolvedAt(now)
		}
	}
	return out
}

// requireCopies: the copies want says fire do, the others are resolved or
// gone (the store drops resolved alerts after a while).
func requireCopies(t *testing.T, want, got map[string]bool, msg string, args ...any) {
	t.Helper()
	for k, firing := range want {
		if firing {
			require.True(t, got[k], "%s: %s not firing in %v", fmt.Sprintf(msg, args...), k, got)
		}
	}
	for k, firing := range got {
		if firing {
			require.True(t, want[k], "%s: %s firing in %v", fmt.Sprintf(msg, args...), k, got)
		}
	}
}

// steps returns the steps recorded for a, in the order they were.
func (b *bubble) steps(a *alert.Alert) []int {
	st, _ := b.acks.Get(a.Fingerprint().String())
	out := []int{}
	for _, e := range st.Escalations {
		out = append(out, e.Step)
	}
	return out
}

func (b *bubble) ack(a *alert.Alert, until time.Duration) {
	ack := acks.Ack{By: "alice", At: time.Now()}
	if until > 0 {
		ack.Until = ack.At.Add(until)
	}
	_, err := b.acks.Acknowledge(a.Fingerprint().String(), a.Name(), "critical", ack)
	require.NoError(b.t, err)
}

func (b *bubble) resolve(a *alert.Alert) {
	now := time.Now()
	r := alert.New(model.Alert{Labels: a.Labels, StartsAt: a.StartsAt, EndsAt: now}, now, false)
	require.NoError(b.t, b.alerts.Put(b.t.Context(), r))
}

// event: at `at` after the first notification, do something (or nothing),
// let a check pass, and see the steps recorded so far and the copies.
type event struct {
	at     time.Duration
	do     func(b *bubble, a *alert.Alert)
	steps  []int
	copies map[string]bool
}

// TestEngineChains runs the engine through a day in the life of the
// documented two-step chain, one scenario per row.
func TestEngineChains(t *testing.T) {
	const db = "critical-database"
	cases := []struct {
		name           string
		severity, team string
		events         []event
	}{{
		name: "two steps fire each once, in order", severity: "critical", team: "database",
		events: []event{
			{at: 9 * time.Minute, steps: []int{}, copies: map[string]bool{}},
			{at: 11 * time.Minute, steps: []int{1}, copies: map[string]bool{db + "/1": true}},
			{at: 29 * time.Minute, steps: []int{1}, copies: map[string]bool{db + "/1": true}},
			{at: 31 * time.Minute, steps: []int{1, 2}, copies: map[string]bool{db + "/1": true, db + "/2": true}},
			{at: 3 * time.Hour, steps: []int{1, 2}, copies: map[string]bool{db + "/1": true, db + "/2": true}},
		},
	}, {
		name: "another team's critical follows the next chain", severity: "critical", team: "ml",
		events: []event{
			{at: 11 * time.Minute, steps: []int{}, copies: map[string]bool{}},
			{at: 31 * time.Minute, steps: []int{1}, copies: map[string]bool{"critical/1": true}},
		},
	}, {
		name: "no chain takes a warning", severity: "warning", team: "database",
		events: []event{{at: 2 * time.Hour, steps: []int{}, copies: map[string]bool{}}},
	}, {
		name: "ack stops the chain", severity: "critical", team: "database",
		events: []event{
			{at: 11 * time.Minute, steps: []int{1}, copies: map[string]bool{db + "/1": true}},
			{at: 15 * time.Minute, do: func(b *bubble, a *alert.Alert) { b.ack(a, 0) }, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
			{at: 3 * time.Hour, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
		},
	}, {
		name: "ack before the first step: nothing", severity: "critical", team: "database",
		events: []event{
			{at: 5 * time.Minute, do: func(b *bubble, a *alert.Alert) { b.ack(a, 0) }, steps: []int{}},
			{at: 3 * time.Hour, steps: []int{}, copies: map[string]bool{}},
		},
	}, {
		name: "snooze lapse resumes and skips the done step", severity: "critical", team: "database",
		events: []event{
			{at: 11 * time.Minute, steps: []int{1}},
			{at: 12 * time.Minute, do: func(b *bubble, a *alert.Alert) { b.ack(a, 33*time.Minute) }, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
			{at: 44 * time.Minute, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
			// The snooze ends at 45m: step 2 (due at 30m) goes at once;
			// step 1's receiver is not paged again.
			{at: 46 * time.Minute, steps: []int{1, 2}, copies: map[string]bool{db + "/1": false, db + "/2": true}},
		},
	}, {
		name: "snooze lapse before a step: the clock ran on", severity: "critical", team: "database",
		events: []event{
			{at: 2 * time.Minute, do: func(b *bubble, a *alert.Alert) { b.ack(a, 5*time.Minute) }, steps: []int{}},
			{at: 11 * time.Minute, steps: []int{1}, copies: map[string]bool{db + "/1": true}},
		},
	}, {
		name: "un-ack resumes", severity: "critical", team: "database",
		events: []event{
			{at: 11 * time.Minute, steps: []int{1}},
			{at: 12 * time.Minute, do: func(b *bubble, a *alert.Alert) { b.ack(a, 0) }, steps: []int{1}},
			{at: 40 * time.Minute, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
			{at: 41 * time.Minute, do: func(b *bubble, a *alert.Alert) {
				_, err := b.acks.Unacknowledge(a.Fingerprint().String())
				require.NoError(t, err)
			}, steps: []int{1, 2}, copies: map[string]bool{db + "/1": false, db + "/2": true}},
		},
	}, {
		name: "resolution stops", severity: "critical", team: "database",
		events: []event{
			{at: 11 * time.Minute, steps: []int{1}},
			{at: 15 * time.Minute, do: func(b *bubble, a *alert.Alert) { b.resolve(a) }, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
			{at: 2 * time.Hour, steps: []int{1}, copies: map[string]bool{db + "/1": false}},
		},
	}, {
		name: "restart does not repeat a step", severity: "critical", team: "database",
		events: []event{
			{at: 11 * time.Minute, steps: []int{1}},
			{at: 12 * time.Minute, do: func(b *bubble, _ *alert.Alert) { b.restart(time.Minute) }, steps: []int{1}, copies: map[string]bool{db + "/1": true}},
			{at: 31 * time.Minute, do: func(b *bubble, _ *alert.Alert) { b.restart(0) }, steps: []int{1, 2}},
			{at: 40 * time.Minute, do: func(b *bubble, _ *alert.Alert) { b.restart(0) }, steps: []int{1, 2}, copies: map[string]bool{db + "/1": true, db + "/2": true}},
		},
	}, {
		name: "down past both steps: both, in order", severity: "critical", team: "database",
		events: []event{
			{at: 5 * time.Minute, do: func(b *bubble, _ *alert.Alert) { b.restart(35 * time.Minute) }, steps: []int{1, 2}, copies: map[string]bool{db + "/1": true, db + "/2": true}},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBubble(t, chains(t))
				start := time.Now()
				a := b.fire("DBDown", c.severity, c.team)
				for _, ev := range c.events {
					time.Sleep(time.Until(start.Add(ev.at)))
					if ev.do != nil {
						ev.do(b, a)
					}
					time.Sleep(20 * time.Second) // one check
					synctest.Wait()
					if ev.steps != nil {
						require.Equal(t, ev.steps, b.steps(a), "steps recorded at %s", ev.at)
					}
					if ev.copies != nil {
						requireCopies(t, ev.copies, b.copies(a), "copies at %s", ev.at)
					}
				}
				// Recorded in order, each after the one before.
				st, _ := b.acks.Get(a.Fingerprint().String())
				for i := 1; i < len(st.Escalations); i++ {
					require.False(t, st.Escalations[i].At.Before(st.Escalations[i-1].At))
				}
			})
		})
	}
}

// TestEngineFlatSteps: the flat format's steps keep their own matchers
// within the one chain they are read as.
func TestEngineFlatSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &Policy{CheckInterval: model.Duration(15 * time.Second), Chains: []Chain{{Name: LegacyChain, Steps: []Step{
			{After: model.Duration(30 * time.Minute), Matchers: amcommoncfg.Matchers{matcher(t, "severity", "critical")}, Receiver: "manager"},
			{After: model.Duration(60 * time.Minute), Matchers: amcommoncfg.Matchers{matcher(t, "severity", "warning")}, Receiver: "tickets"},
		}}}}
		b := newBubble(t, p)
		crit := b.fire("Crit", "critical", "platform")
		warn := b.fire("Warn", "warning", "platform")
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		require.Equal(t, []int{1}, b.steps(crit))
		require.Equal(t, []int{2}, b.steps(warn))
		require.Equal(t, map[string]bool{"default/2": true}, b.copies(warn))
	})
}

// TestPositions: the API's view of an alert on its chain.
func TestPositions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, chains(t))
		start := time.Now()
		a := b.fire("DBDown", "critical", "database")
		b.fire("Warn", "warning", "database")
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		ps := b.engine.Positions()
		require.Len(t, ps, 1, "a warning is on no chain")
		p := ps[0]
		require.Equal(t, a.Fingerprint().String(), p.Fingerprint)
		require.Equal(t, "critical-database", p.Chain)
		require.Equal(t, StateEscalating, p.State)
		require.Len(t, p.Done, 1)
		require.Equal(t, "database-secondary", p.Done[0].Receiver)
		require.Equal(t, &NextStep{Step: 2, After: "30m", Receiver: "engineering-manager", DueAt: start.Add(30 * time.Minute).UTC()}, p.Next)

		b.ack(a, time.Hour)
		p = b.engine.Positions()[0]
		require.Equal(t, StateSnoozed, p.State)
		require.Equal(t, p.SnoozedUntil, p.Next.DueAt, "due when the snooze ends")

		_, err := b.acks.Unacknowledge(a.Fingerprint().String())
		require.NoError(t, err)
		p = b.engine.Positions()[0]
		require.Equal(t, StateEscalating, p.State, "un-acked: the clock runs again")
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		p = b.engine.Positions()[0]
		require.Equal(t, StateComplete, p.State)
		require.Nil(t, p.Next)
	})
}
