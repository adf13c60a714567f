package simulator

import (
	"context"
	"time"
)

// runDemo rotates through Options.Demo.Scenarios: each is active for Demo.Active, one
// starts every Demo.Interval. It only ends the scenarios it started, so an operator's
// activation through the API survives the rotation.
// Start has already started the first scenario (started reports whether it did), so
// the first alert does not wait for this goroutine to be scheduled.
func (s *Simulator) runDemo(ctx context.Context, started bool) {
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for i := 0; ; i++ {
		name := s.opts.Demo.Scenarios[i%len(s.opts.Demo.Scenarios)]
		if i > 0 {
			started = s.demoStart(name)
		}
		if !wait(s.opts.Demo.Active) {
			return
		}
		if started {
			s.demoEnd(name)
		}
		if !wait(s.opts.Demo.Interval - s.opts.Demo.Active) {
			return
		}
	}
}

// demoStart activates name unless it is already active; it reports whether it did.
func (s *Simulator) demoStart(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active.on(name) {
		return false
	}
	if err := s.activateLocked(name, "", "demo"); err != nil {
		s.logger.Error("demo scenario", "scenario", name, "err", err)
		return false
	}
	s.stepLocked(0)
	return true
}

// demoEnd deactivates name if the demo still owns it.
func (s *Simulator) demoEnd(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if act, ok := s.active[name]; ok && act.source == "demo" {
		s.deactivateLocked(name)
		s.stepLocked(0)
	}
}
