package simulator

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// simulationBuckets resolve p95 around the 30 s SMM_SimulationHighLatency threshold.
var simulationBuckets = []float64{1, 2.5, 5, 10, 15, 20, 25, 30, 40, 60, 90, 120, 300}

// simulationModel simulates the smm-simulation job: campaign outcome simulations.
type simulationModel struct {
	running  float64
	success  prometheus.Counter
	failure  prometheus.Counter
	duration prometheus.Histogram
	active   prometheus.Gauge
}

func newSimulationModel(reg prometheus.Registerer, r *rng) *simulationModel {
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_simulation_runs_total",
		Help: "Finished simulation runs, by outcome.",
	}, []string{"outcome"})
	duration := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "smm_simulation_duration_seconds",
		Help:    "Duration of simulation runs.",
		Buckets: simulationBuckets,
	})
	active := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "smm_simulations_active",
		Help: "Simulations running now.",
	})
	reg.MustRegister(runs, duration, active)
	return &simulationModel{
		running:  8 + r.Float64()*6,
		success:  runs.WithLabelValues("success"),
		failure:  runs.WithLabelValues("failure"),
		duration: duration,
		active:   active,
	}
}

func (m *simulationModel) advance(st *step) {
	failShare, median, sigma := 0.015, 8.0, 0.4
	if st.active.on(scSimulationFailures) {
		failShare = 0.4
	}
	if st.active.on(scSimulationLatency) {
		median, sigma = 45, 0.25
	}
	n := st.rnd.count(0.5 * diurnal(st.now) * st.dt)
	ok, failed := st.rnd.split(n, failShare)
	m.success.Add(float64(ok))
	m.failure.Add(float64(failed))
	for range n {
		m.duration.Observe(st.rnd.logNormal(median, sigma))
	}

	// A healthy platform runs 5 to 20 simulations at a time.
	m.running = min(20, max(5, m.running+st.rnd.NormFloat64()*math.Sqrt(st.dt)*0.5))
	running := math.Round(m.running)
	if st.active.on(scSimulationExhaustion) {
		running = 60 + math.Round(st.rnd.Float64()*20)
	}
	m.active.Set(running)
}
