package escalation

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/acks"
)

// Position is where one firing alert is on its chain.
type Position struct {
	Fingerprint     string         `json:"fingerprint"`
	Alertname       string         `json:"alertname"`
	Labels          model.LabelSet `json:"labels"`
	Chain           string         `json:"chain"`
	FirstNotifiedAt time.Time      `json:"firstNotifiedAt"`
	// State is escalating (the clock runs), acknowledged (stopped),
	// snoozed (stopped until SnoozedUntil) or complete (every step done).
	State        string     `json:"state"`
	SnoozedUntil time.Time  `json:"snoozedUntil,omitzero"`
	Done         []StepDone `json:"done"`
	Next         *NextStep  `json:"next,omitempty"`
}

// StepDone is a step carried out.
type StepDone struct {
	Step     int       `json:"step"`
	Receiver string    `json:"receiver"`
	At       time.Time `json:"at"`
}

// NextStep is the step an alert reaches next, and when, if nothing stops
// it; DueAt is zero while an ack holds without expiry.
type NextStep struct {
	Step     int       `json:"step"`
	After    string    `json:"after"`
	Receiver string    `json:"receiver"`
	DueAt    time.Time `json:"dueAt,omitzero"`
}

// The states of a Position.
const (
	StateEscalating   = "escalating"
	StateAcknowledged = "acknowledged"
	StateSnoozed      = "snoozed"
	StateComplete     = "complete"
)

// Positions lists the firing alerts on a chain: notified at least once
// (the clock runs from the first notification) and taken by a chain of the
// policy in force, ordered by when their next step is due.
func (e *Engine) Positions() []Position {
	now := time.Now()
	p := e.policy.Load()
	var extra time.Duration
	if e.wait != nil {
		extra = e.wait()
	}
	out := []Position{}
	it := e.alerts.GetPending()
	defer it.Close()
	for a := range it.Next() {
		if IsCopy(a.Data.Labels) || a.Data.ResolvedAt(now) {
			continue
		}
		ch := p.ChainFor(a.Data.Labels)
		if ch == nil {
			continue
		}
		st, ok := e.acks.Get(a.Data.Fingerprint().String())
		if !ok || st.FirstNotifiedAt.IsZero() {
			continue
		}
		out = append(out, position(a.Data.Labels, ch, st, now, extra))
	}
	slices.SortFunc(out, func(x, y Position) int {
		return cmp.Or(cmp.Compare(dueKey(x), dueKey(y)), cmp.Compare(x.Fingerprint, y.Fingerprint))
	})
	return out
}

func dueKey(p Position) int64 {
	if p.Next == nil || p.Next.DueAt.IsZero() {
		return 1 << 62
	}
	return p.Next.DueAt.UnixNano()
}

func position(ls model.LabelSet, ch *Chain, st acks.State, now time.Time, extra time.Duration) Position {
	pos := Position{
		Fingerprint: st.Fingerprint, Alertname: string(ls[model.AlertNameLabel]), Labels: ls,
		Chain: ch.Name, FirstNotifiedAt: st.FirstNotifiedAt, Done: []StepDone{},
	}
	for _, esc := range st.Escalations {
		pos.Done = append(pos.Done, StepDone{Step: esc.Step, Receiver: esc.Receiver, At: esc.At})
	}
	slices.SortFunc(pos.Done, func(x, y StepDone) int { return cmp.Compare(x.Step, y.Step) })
	for i, s := range ch.Steps {
		if done(st.Escalations, i+1) || !s.Matches(ls) {
			continue
		}
		pos.Next = &NextStep{Step: i + 1, After: s.After.String(), Receiver: s.Receiver, DueAt: st.FirstNotifiedAt.Add(time.Duration(s.After) + extra)}
		break
	}
	switch {
	case st.AckedAt(now) && !st.Ack.Until.IsZero():
		pos.State, pos.SnoozedUntil = StateSnoozed, st.Ack.Until
		if pos.Next != nil && pos.Next.DueAt.Before(st.Ack.Until) {
			pos.Next.DueAt = st.Ack.Until
		}
	case st.AckedAt(now):
		pos.State = StateAcknowledged
		if pos.Next != nil {
			pos.Next.DueAt = time.Time{}
		}
	case pos.Next == nil:
		pos.State = StateComplete
	default:
		pos.State = StateEscalating
	}
	return pos
}
