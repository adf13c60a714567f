package ruler

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
)

// Holding alerts while samples cannot be stored.
//
// When the data directory is full the free-space guard refuses every sample
// batch. Rules still evaluate, on what is in memory, and once their input has
// aged out of the lookback window the alerts they fired resolve: not because
// the condition ended, but because nothing about it can be stored. A pager
// that resolves an outage because its disk filled is wrong twice. So while
// the storage is full the forwarder holds every alert that was firing — it
// drops the rules' resolutions of them and puts them again, the way
// Alertmanager's resolve_timeout keeps an alert that stops being sent — and
// marks them with the HeldAnnotation (annotations do not change the
// fingerprint). When space returns it keeps holding each alert for
// HoldGrace, until its rule fires it again (the alert store merges the two
// and keeps the first startsAt, so ack and escalation carry on), its rule
// resolves it on input stored after the release (a resolution dated before
// the release is one of lack of input, and stays dropped), or the grace
// ends and it resolves.
//
// The Watchdog is the opposite case: it must stop, so that an external dead
// man's switch notices the appliance cannot store data. While the storage is
// full it is resolved and not forwarded.

// HeldAnnotation marks an alert the forwarder is holding.
const HeldAnnotation = "smm_held"

// HoldGrace is how long, after space returns, an alert is held for its rule
// to fire it again (rules with a `for` need that long, plus their range).
const HoldGrace = 10 * time.Minute

// holdRefresh and holdTimeout: how often held alerts are put again, and how
// far ahead their end is set.
const (
	holdRefresh = 15 * time.Second
	holdTimeout = 2 * time.Minute
)

// watchdogName is the shipped always-firing alert (configs/rules).
const watchdogName = "Watchdog"

type holdState struct {
	mtx      sync.Mutex
	firing   map[model.Fingerprint]model.Alert // last firing set from the rules
	held     map[model.Fingerprint]model.Alert
	holding  bool
	since    time.Time // holding since
	released time.Time // when space returned; zero while holding
	stop     chan struct{}
}

// Hold starts (on) or ends holding; the appliance calls it from the
// free-space guard's OnChange.
func (f *Forwarder) Hold(on bool, reason string) {
	h := &f.hold
	now := time.Now()
	h.mtx.Lock()
	if on == h.holding {
		h.mtx.Unlock()
		return
	}
	h.holding = on
	var put []*alert.Alert
	if on {
		h.since, h.released = now, time.Time{}
		if h.held == nil {
			h.held = map[model.Fingerprint]model.Alert{}
		}
		for fp, a := range h.firing {
			if a.Name() == watchdogName {
				// Stop the heartbeat at once: resolve it.
				w := a
				w.EndsAt = now
				put = append(put, alert.New(w, now, false))
				continue
			}
			h.held[fp] = a
		}
		ann := model.LabelValue("held since " + now.UTC().Format(time.RFC3339) + ": " + reason)
		for fp, a := range h.held {
			a.Annotations = a.Annotations.Clone()
			a.Annotations[HeldAnnotation] = ann
			h.held[fp] = a
		}
		if h.stop == nil {
			h.stop = make(chan struct{})
			go f.refreshHeld(h.stop)
		}
	} else {
		h.released = now
	}
	h.mtx.Unlock()
	if len(put) > 0 {
		_ = f.alerts.Put(context.Background(), put...)
	}
	f.putHeld(now)
	f.logger.Warn("holding firing alerts while samples cannot be stored", "component", "forwarder", "holding", on, "reason", reason)
}

// Held returns the alerts being held.
func (f *Forwarder) Held() []model.Alert {
	h := &f.hold
	h.mtx.Lock()
	defer h.mtx.Unlock()
	out := make([]model.Alert, 0, len(h.held))
	for _, a := range h.held {
		out = append(out, a)
	}
	return out
}

// filter applies holding to alerts from the rules.
func (h *holdState) filter(in []*alert.Alert, now time.Time) []*alert.Alert {
	h.mtx.Lock()
	defer h.mtx.Unlock()
	if h.firing == nil {
		h.firing = map[model.Fingerprint]model.Alert{}
	}
	out := in[:0]
	for _, a := range in {
		fp := a.Fingerprint()
		resolved := a.ResolvedAt(now)
		switch {
		case h.holding && a.Name() == watchdogName:
			continue // stopped while the storage is full
		case h.holding && !resolved:
			// Firing on in-memory samples: held as well, from now on.
			held := a.Alert
			held.Annotations = a.Annotations.Clone()
			if old, ok := h.held[fp]; ok {
				held.Annotations[HeldAnnotation] = old.Annotations[HeldAnnotation]
			}
			h.held[fp] = held
			if held.Annotations[HeldAnnotation] != "" {
				a = alert.New(held, a.UpdatedAt, false)
			}
		case !h.holding && !resolved:
			delete(h.held, fp) // its rule fires it again
		}
		if _, ok := h.held[fp]; ok && resolved {
			if h.holding || !a.EndsAt.After(h.released) {
				continue // resolved for lack of input: held
			}
			// Resolved after space returned, on stored input: trust it.
			delete(h.held, fp)
		}
		if resolved {
			delete(h.firing, fp)
		} else {
			h.firing[fp] = a.Alert
		}
		out = append(out, a)
	}
	return out
}

// putHeld puts every held alert again with a fresh end; after HoldGrace
// past the release it lets the rest go (they time out and resolve).
func (f *Forwarder) putHeld(now time.Time) {
	h := &f.hold
	h.mtx.Lock()
	if !h.holding && !h.released.IsZero() && now.Sub(h.released) > HoldGrace {
		h.held = map[model.Fingerprint]model.Alert{}
	}
	out := make([]*alert.Alert, 0, len(h.held))
	for _, a := range h.held {
		a.EndsAt = now.Add(holdTimeout)
		out = append(out, alert.New(a, now, false))
	}
	done := !h.holding && len(h.held) == 0
	if done && h.stop != nil {
		close(h.stop)
		h.stop = nil
	}
	h.mtx.Unlock()
	if len(out) > 0 {
		if err := f.alerts.Put(context.Background(), out...); err != nil {
			f.logger.Error("put held alerts", "component", "forwarder", "err", err)
		}
	}
}

func (f *Forwarder) refreshHeld(stop chan struct{}) {
	t := time.NewTicker(holdRefresh)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			f.putHeld(now)
		}
	}
}
