package simulator

import (
	"math"
	"math/rand/v2"
	"time"
)

// rng is the simulator's noise source. It is only used by the tick, under Simulator.mu.
type rng struct{ *rand.Rand }

func newRNG(seed uint64) *rng {
	return &rng{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// count returns a non-negative integer around mean: the mean jittered by 20 % and
// rounded up or down at random so that fractional means add up over many ticks.
func (r *rng) count(mean float64) int {
	if mean <= 0 {
		return 0
	}
	x := max(0, mean*(1+0.2*r.NormFloat64()))
	n := math.Floor(x)
	if r.Float64() < x-n {
		n++
	}
	return int(n)
}

// logNormal draws a duration-like value with the given median and log-space spread.
func (r *rng) logNormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// jitter returns v moved uniformly by up to ±frac of itself.
func (r *rng) jitter(v, frac float64) float64 {
	return v * (1 + frac*(2*r.Float64()-1))
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// diurnal is the traffic multiplier for the time of day: 0.5 at 03:00 UTC, 1.5 at 15:00.
func diurnal(t time.Time) float64 {
	t = t.UTC()
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 1 + 0.5*math.Sin(2*math.Pi*(h-9)/24)
}

// split divides n events into failures (each with probability p) and successes.
func (r *rng) split(n int, p float64) (ok, failed int) {
	for range n {
		if r.chance(p) {
			failed++
		} else {
			ok++
		}
	}
	return ok, failed
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
