package escalation

import (
	"context"
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
	alerts *mem.Alerts
	acks   *acks.Store
	engine *Engine
}

func newBubble(t *testing.T, p *Policy) *bubble {
	t.Helper()
	logger := promslog.NewNopLogger()
	alerts, err := mem.NewAlerts(t.Context(), time.Hour, 0, nil, logger, eventrecorder.NopRecorder(), prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	st, err := acks.Open(filepath.Join(t.TempDir(), "acks.json"), logger)
	require.NoError(t, err)
	e := New(alerts, st, logger, prometheus.NewRegistry())
	e.ApplyPolicy(p)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		alerts.Close()
		require.NoError(t, st.Close())
	})
	return &bubble{t: t, alerts: alerts, acks: st, engine: e}
}

func twoSteps(t *testing.T) *Policy {
	m, err := labels.NewMatcher(labels.MatchEqual, "severity", "critical")
	require.NoError(t, err)
	return &Policy{
		CheckInterval: model.Duration(15 * time.Second),
		Steps: []Step{
			{After: model.Duration(30 * time.Minute), Matchers: amcommoncfg.Matchers{m}, Receiver: "manager"},
			{After: model.Duration(60 * time.Minute), Matchers: amcommoncfg.Matchers{m}, Receiver: "director"},
		},
	}
}

// fire puts a firing alert, as the rules would, and records its first
// notification now.
func (b *bubble) fire(name, severity string) *alert.Alert {
	now := time.Now()
	a := alert.New(model.Alert{
		Labels:   model.LabelSet{"alertname": model.LabelValue(name), "severity": model.LabelValue(severity)},
		StartsAt: now, EndsAt: now.Add(4 * time.Hour),
	}, now, false)
	require.NoError(b.t, b.alerts.Put(b.t.Context(), a))
	b.acks.Notified(now, acks.Notice{Fingerprint: a.Fingerprint().String(), Alertname: name, Severity: severity})
	return a
}

// copies returns the escalation copies in the store by step, and whether
// each is firing.
func (b *bubble) copies() map[int]bool {
	out := map[int]bool{}
	it := b.alerts.GetPending()
	defer it.Close()
	now := time.Now()
	for a := range it.Next() {
		if n := StepOf(a.Data.Labels); n > 0 {
			out[n] = !a.Data.ResolvedAt(now)
		}
	}
	return out
}

func (b *bubble) steps(a *alert.Alert) []int {
	st, _ := b.acks.Get(a.Fingerprint().String())
	var out []int
	for _, e := range st.Escalations {
		out = append(out, e.Step)
	}
	return out
}

// TestEscalationSteps: an unacknowledged critical alert gets one copy per
// step when the step is due, each raised once and kept firing; a warning
// gets none.
func TestEscalationSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, twoSteps(t))
		crit := b.fire("Crit", "critical")
		warn := b.fire("Warn", "warning")

		time.Sleep(29 * time.Minute)
		synctest.Wait()
		require.Empty(t, b.copies(), "escalated before 30 minutes")

		time.Sleep(2 * time.Minute)
		synctest.Wait()
		require.Equal(t, map[int]bool{1: true}, b.copies())
		require.Equal(t, []int{1}, b.steps(crit))

		time.Sleep(30 * time.Minute)
		synctest.Wait()
		require.Equal(t, map[int]bool{1: true, 2: true}, b.copies())
		require.Equal(t, []int{1, 2}, b.steps(crit), "each step raised exactly once")
		require.Empty(t, b.steps(warn))

		// The copy carries the alert's labels and the step's.
		it := b.alerts.GetPending()
		for a := range it.Next() {
			if StepOf(a.Data.Labels) == 2 {
				require.Equal(t, model.LabelValue("Crit"), a.Data.Labels["alertname"])
				require.Equal(t, model.LabelValue("true"), a.Data.Labels[LabelEscalated])
				require.Equal(t, crit.Fingerprint(), Original(a.Data.Labels))
			}
		}
		it.Close()

		// Long after: copies are still refreshed, no step is raised again.
		time.Sleep(2 * time.Hour) // the alert fires for 4 h
		synctest.Wait()
		require.Equal(t, map[int]bool{1: true, 2: true}, b.copies())
		require.Equal(t, []int{1, 2}, b.steps(crit))
	})
}

// TestEscalationStopsOnAck: acknowledging resolves the copies at the next
// check; an alert acknowledged before its step is never escalated.
func TestEscalationStopsOnAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, twoSteps(t))
		crit := b.fire("Crit", "critical")
		early := b.fire("Early", "critical")
		_, err := b.acks.Acknowledge(early.Fingerprint().String(), "Early", "critical", acks.Ack{By: "alice", At: time.Now()})
		require.NoError(t, err)

		time.Sleep(31 * time.Minute)
		synctest.Wait()
		require.Equal(t, map[int]bool{1: true}, b.copies())
		require.Empty(t, b.steps(early))

		_, err = b.acks.Acknowledge(crit.Fingerprint().String(), "Crit", "critical", acks.Ack{By: "bob", At: time.Now()})
		require.NoError(t, err)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, map[int]bool{1: false}, b.copies(), "the copy is resolved after the ack")
		time.Sleep(time.Hour)
		synctest.Wait()
		require.Equal(t, []int{1}, b.steps(crit), "no step after the ack")
	})
}

// TestEscalationStopsOnResolve: when the alert resolves, its copies
// resolve too.
func TestEscalationStopsOnResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, twoSteps(t))
		crit := b.fire("Crit", "critical")
		time.Sleep(31 * time.Minute)
		synctest.Wait()
		require.Equal(t, map[int]bool{1: true}, b.copies())

		now := time.Now()
		resolved := alert.New(model.Alert{Labels: crit.Labels, StartsAt: crit.StartsAt, EndsAt: now}, now, false)
		require.NoError(t, b.alerts.Put(t.Context(), resolved))
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, map[int]bool{1: false}, b.copies())
	})
}
