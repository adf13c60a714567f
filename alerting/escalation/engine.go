package escalation

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/provider"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/acks"
)

// Sender is what the engine needs from the embedded Alertmanager.
type Sender interface {
	Alerts() provider.Alerts
	Receiver(name string) ([]notify.Integration, bool)
	Silenced(ctx context.Context, ls model.LabelSet) bool
}

// Recorder is told of every escalation attempt.
type Recorder func(step int, receiver, integration string, a *alert.Alert, err error, d time.Duration)

// Engine runs the policy.
type Engine struct {
	sender Sender
	acks   *acks.Store
	record Recorder
	logger *slog.Logger
	policy atomic.Pointer[Policy]
	now    func() time.Time
	wait   func() time.Duration
}

// SetWait delays every step by wait() (a cluster peer's position times the
// peer timeout), so that only the first peer escalates.
func (e *Engine) SetWait(wait func() time.Duration) { e.wait = wait }

// New builds an engine; ApplyPolicy before Run.
func New(sender Sender, st *acks.Store, record Recorder, logger *slog.Logger) *Engine {
	e := &Engine{sender: sender, acks: st, record: record, logger: logger.With("component", "escalation"), now: time.Now}
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

// Check runs one round: forget alerts that are gone or resolved, then send
// every due step once.
func (e *Engine) Check(ctx context.Context) {
	now := e.now()
	active := map[string]*alert.Alert{}
	it := e.sender.Alerts().GetPending()
	for a := range it.Next() {
		if !a.Data.ResolvedAt(now) {
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
	for fp, a := range active {
		st, ok := e.acks.Get(fp)
		if !ok || st.FirstNotifiedAt.IsZero() || st.Ack != nil {
			continue
		}
		for i, step := range p.Steps {
			n := i + 1
			if done(st.Escalations, n) || !step.Matches(a.Labels) || now.Sub(st.FirstNotifiedAt) < time.Duration(step.After)+extra {
				continue
			}
			if e.sender.Silenced(ctx, a.Labels) {
				break
			}
			if e.send(ctx, n, step, a) {
				if err := e.acks.Escalated(fp, acks.Escalation{Step: n, At: now, Receiver: step.Receiver}); err != nil {
					e.logger.Error("persist escalation", "err", err)
				}
			}
		}
	}
}

func done(es []acks.Escalation, step int) bool {
	for _, e := range es {
		if e.Step == step {
			return true
		}
	}
	return false
}

// send delivers the alert through every integration of the step's
// receiver. The step counts as done when at least one integration
// delivered; if all failed, the next round tries again.
func (e *Engine) send(ctx context.Context, n int, step Step, a *alert.Alert) bool {
	ints, ok := e.sender.Receiver(step.Receiver)
	if !ok {
		e.logger.Error("escalation receiver not configured", "receiver", step.Receiver)
		return false
	}
	// Templates see the escalation in the labels.
	labels := a.Labels.Clone()
	labels["escalated"] = "true"
	labels["escalation_step"] = model.LabelValue(itoa(n))
	esc := alert.New(model.Alert{Labels: labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL}, a.UpdatedAt, a.Timeout)

	nctx := notify.WithReceiverName(ctx, step.Receiver)
	nctx = notify.WithGroupKey(nctx, "escalation/"+a.Fingerprint().String()+"/"+itoa(n))
	nctx = notify.WithGroupLabels(nctx, labels)
	nctx = notify.WithNow(nctx, e.now())
	nctx = notify.WithFiringAlerts(nctx, []uint64{uint64(esc.Fingerprint())})
	nctx = notify.WithResolvedAlerts(nctx, nil)
	nctx = notify.WithRepeatInterval(nctx, time.Hour)
	nctx, cancel := context.WithTimeout(nctx, notify.MinTimeout)
	defer cancel()

	delivered := false
	for i := range ints {
		start := time.Now()
		v := ints[i].Notify(nctx, esc)
		if e.record != nil {
			e.record(n, step.Receiver, ints[i].Name(), a, v.Err(), time.Since(start))
		}
		if v.Err() != nil {
			e.logger.Warn("escalation delivery failed", "receiver", step.Receiver, "integration", ints[i].Name(), "alert", a.Name(), "err", v.Err())
			continue
		}
		delivered = true
	}
	if len(ints) == 0 {
		e.logger.Warn("escalation receiver has no enabled channel", "receiver", step.Receiver, "alert", a.Name())
	}
	if delivered {
		e.logger.Info("escalated", "alert", a.Name(), "step", n, "receiver", step.Receiver)
	}
	return delivered
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
