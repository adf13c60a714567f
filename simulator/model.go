package simulator

import "time"

// jobModel is the simulation of one job: it owns that job's metrics and moves them forward.
type jobModel interface {
	// advance moves the model st.dt simulated seconds forward to st.now.
	advance(st *step)
}

// step is one tick of the simulated clock, handed to every model in turn.
type step struct {
	now    time.Time
	dt     float64 // simulated seconds since the previous step; 0 on the first
	rnd    *rng
	active activeSet
}

// elapsed returns the simulated seconds since the scenario was activated, or 0.
func (st *step) elapsed(name string) float64 {
	act, ok := st.active[name]
	if !ok {
		return 0
	}
	return max(0, st.now.Sub(act.since).Seconds())
}

const (
	day = 24 * time.Hour
	gib = float64(1 << 30)
	mib = float64(1 << 20)
)
