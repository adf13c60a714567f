package escalation

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/provider"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/acks"
)

// Labels on the copy of an alert that the engine escalates. The copy goes
// into the Alertmanager's alert store like any alert; alertmanager.yml
// routes it (`escalated="true"`, and `escalation_chain` and
// `escalation_step` where chains and steps go to different receivers), so
// grouping, retries, silences, inhibition and the notification log apply to
// escalations as to every notification.
const (
	LabelEscalated = "escalated"
	LabelStep      = "escalation_step"
	LabelChain     = "escalation_chain"
)

// minCopyTimeout bounds how long a copy stays firing without a refresh:
// long enough to survive a restart (the Alertmanager restores it from its
// snapshot, and the notification log knows it was sent), short enough that
// copies left by a removed step resolve.
const minCopyTimeout = 5 * time.Minute

// IsCopy reports whether ls are the labels of an escalation copy.
func IsCopy(ls model.LabelSet) bool { return ls[LabelEscalated] == "true" }

// ChainOf returns the escalation chain of a copy's labels, "" if ls is no
// copy.
func ChainOf(ls model.LabelSet) string {
	if !IsCopy(ls) {
		return ""
	}
	return string(ls[LabelChain])
}

// StepOf returns the escalation step of a copy's labels, 0 if ls is no copy.
func StepOf(ls model.LabelSet) int {
	if !IsCopy(ls) {
		return 0
	}
	n, _ := strconv.Atoi(string(ls[LabelStep]))
	return n
}

// Original returns the fingerprint of the alert a copy escalates.
func Original(ls model.LabelSet) model.Fingerprint {
	o := ls.Clone()
	delete(o, LabelEscalated)
	delete(o, LabelStep)
	delete(o, LabelChain)
	return o.Fingerprint()
}

// Engine runs the policy: each check, it raises the steps of its chain that
// are due for each firing, notified, unacknowledged alert, keeps the copies
// of raised steps firing while their alert is, and resolves them when it is
// resolved, gone or acknowledged.
type Engine struct {
	alerts provider.Alerts
	acks   *acks.Store
	logger *slog.Logger
	policy atomic.Pointer[Policy]
	wait   func() time.Duration
	checks prometheus.Counter
}

// SetWait delays every step by wait() (a cluster peer's position times the
// peer timeout), so that only the first peer escalates.
func (e *Engine) SetWait(wait func() time.Duration) { e.wait = wait }

// New builds an engine over the Alertmanager's alert store; ApplyPolicy
// before Run.
func New(alerts provider.Alerts, st *acks.Store, logger *slog.Logger, reg prometheus.Registerer) *Engine {
	e := &Engine{
		alerts: alerts, acks: st, logger: logger.With("component", "escalation"),
		checks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smm_appliance_escalation_checks_total",
			Help: "Rounds of the escalation engine over the firing alerts.",
		}),
	}
	reg.MustRegister(e.checks)
	e.policy.Store(&Policy{CheckInterval: model.Duration(DefaultCheckInterval)})
	return e
}

// ApplyPolicy swaps the policy in force.
func (e *Engine) ApplyPolicy(p *Policy) { e.policy.Store(p) }

// Run checks alerts every check interval until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	for {
		interval := time.Duration(e.policy.Load().CheckInterval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
			e.Check(ctx)
		}
	}
}

// Check runs one round.
func (e *Engine) Check(ctx context.Context) {
	defer e.checks.Inc()
	// Tests run the engine in a testing/synctest bubble, whose clock this is.
	now := time.Now()
	active := map[string]*alert.Alert{}
	var copies []*alert.Alert
	it := e.alerts.GetPending()
	for a := range it.Next() {
		switch {
		case IsCopy(a.Data.Labels):
			copies = append(copies, a.Data)
		case !a.Data.ResolvedAt(now):
			active[a.Data.Fingerprint().String()] = a.Data
		}
	}
	it.Close()
	e.acks.Forget(func(fp string) bool { _, ok := active[fp]; return ok })

	p := e.policy.Load()
	var extra time.Duration
	if e.wait != nil {
		extra = e.wait()
	}
	timeout := max(4*time.Duration(p.CheckInterval), minCopyTimeout)
	var put []*alert.Alert
	keep := map[model.Fingerprint]bool{}
	for fp, a := range active {
		st, ok := e.acks.Get(fp)
		if !ok || st.FirstNotifiedAt.IsZero() {
			continue
		}
		ch := p.ChainFor(a.Labels)
		if ch == nil {
			continue
		}
		// An ack in force (a snooze not yet lapsed) holds the chain.
		acked := st.AckedAt(now)
		for i, step := range ch.Steps {
			n := i + 1
			if acked {
				break
			}
			if done(st.Escalations, n) || !step.Matches(a.Labels) {
				continue
			}
			// Steps are in order of After: once one is not due, no later
			// one is. Every step that is due goes now, in order (the
			// engine was down, or a snooze lapsed past several).
			if now.Sub(st.FirstNotifiedAt) < time.Duration(step.After)+extra {
				break
			}
			// Recorded before the copy goes in, so a restart in between
			// cannot raise the step twice.
			esc := acks.Escalation{Step: n, At: now, Receiver: step.Receiver}
			if err := e.acks.Escalated(fp, esc); err != nil {
				e.logger.Error("persist escalation", "err", err)
				break // the next step waits for this one: never out of order
			}
			st.Escalations = append(st.Escalations, esc)
			e.logger.Info("escalating", "alert", a.Name(), "chain", ch.Name, "step", n, "receiver", step.Receiver)
		}
		for _, esc := range st.Escalations {
			// A step's copy fires until the alert is acknowledged. An ack
			// or un-ack after the step stopped it for good: when a snooze
			// lapses or an ack is withdrawn the chain goes on with the
			// steps not yet carried out, and does not page a step's
			// receiver a second time.
			if acked || st.AckChangedAt.After(esc.At) || esc.Step > len(ch.Steps) {
				continue
			}
			c := copyOf(a, ch.Name, esc, now, timeout)
			keep[c.Fingerprint()] = true
			put = append(put, c)
		}
	}
	for _, c := range copies {
		if keep[c.Fingerprint()] || c.ResolvedAt(now) {
			continue
		}
		// The alert was resolved, acknowledged or forgotten: resolve the
		// copy, so that the escalation receiver hears it too.
		r := c.Alert
		r.EndsAt = now
		put = append(put, alert.New(r, now, false))
	}
	if len(put) == 0 {
		return
	}
	if err := e.alerts.Put(ctx, put...); err != nil {
		e.logger.Error("put escalation copies", "err", err)
	}
}

// copyOf is the copy of a for step esc, firing until refreshed or timeout.
// Its EndsAt is marked a timeout, so an explicit resolution wins over it.
func copyOf(a *alert.Alert, chain string, esc acks.Escalation, now time.Time, timeout time.Duration) *alert.Alert {
	ls := a.Labels.Clone()
	ls[LabelEscalated] = "true"
	ls[LabelChain] = model.LabelValue(chain)
	ls[LabelStep] = model.LabelValue(strconv.Itoa(esc.Step))
	return alert.New(model.Alert{
		Labels: ls, Annotations: a.Annotations.Clone(), GeneratorURL: a.GeneratorURL,
		StartsAt: esc.At, EndsAt: now.Add(timeout),
	}, now, true)
}

func done(es []acks.Escalation, step int) bool {
	for _, e := range es {
		if e.Step == step {
			return true
		}
	}
	return false
}
