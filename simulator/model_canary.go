package simulator

import (
	"github.com/prometheus/client_golang/prometheus"
)

type canary struct {
	deployment  string
	target      float64 // configured traffic share
	nextFailure float64 // seconds into canary-failure of the next failure
	failures    prometheus.Counter
	traffic     prometheus.Gauge
	targetRatio prometheus.Gauge
	drift       prometheus.Gauge
	quality     prometheus.Gauge
}

// canaryModel simulates the smm-canary job: ML models rolled out behind canaries.
type canaryModel struct {
	canaries []*canary
}

// The first failure comes canaryFirstFailure after activation, not at once: a failure
// counted before Prometheus' first scrape of the series is invisible to increase(), and
// the demo activates canary-failure at start. Repeats keep SMM_CanaryDeploymentFailure
// (any failure in 10 m) firing.
const (
	canaryFirstFailure = 20.0
	canaryFailureEvery = 60.0
)

func newCanaryModel(reg prometheus.Registerer) *canaryModel {
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_canary_deployment_failures_total",
		Help: "Canary deployments that failed and were rolled back.",
	}, []string{"deployment"})
	traffic := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_canary_traffic_ratio",
		Help: "Observed share of traffic served by the canary.",
	}, []string{"deployment"})
	target := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_canary_traffic_target_ratio",
		Help: "Configured share of traffic for the canary.",
	}, []string{"deployment"})
	drift := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_canary_model_drift_score",
		Help: "Drift of the canary model's inputs against its training data, 0 to 1.",
	}, []string{"deployment", "model"})
	quality := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_canary_quality_score",
		Help: "Quality score of the canary model's outputs, 0 to 1.",
	}, []string{"deployment", "model"})
	reg.MustRegister(failures, traffic, target, drift, quality)

	m := &canaryModel{}
	for _, d := range canaryDeployments {
		m.canaries = append(m.canaries, &canary{
			deployment:  d.deployment,
			target:      0.1,
			nextFailure: canaryFirstFailure,
			failures:    failures.WithLabelValues(d.deployment),
			traffic:     traffic.WithLabelValues(d.deployment),
			targetRatio: target.WithLabelValues(d.deployment),
			drift:       drift.WithLabelValues(d.deployment, d.model),
			quality:     quality.WithLabelValues(d.deployment, d.model),
		})
	}
	return m
}

func (m *canaryModel) advance(st *step) {
	for _, c := range m.canaries {
		if st.active.aimed(scCanaryFailure, c.deployment) {
			for el := st.elapsed(scCanaryFailure); el >= c.nextFailure; c.nextFailure += canaryFailureEvery {
				c.failures.Inc()
			}
		} else {
			c.nextFailure = canaryFirstFailure
		}

		traffic := c.target + (st.rnd.Float64()*2-1)*0.01
		if st.active.aimed(scCanaryTraffic, c.deployment) {
			traffic = 0.25 + (st.rnd.Float64()*2-1)*0.01
		}
		drift := 0.05 + st.rnd.Float64()*0.1
		if st.active.aimed(scCanaryDrift, c.deployment) {
			drift = 0.4 + st.rnd.Float64()*0.1
		}
		quality := 0.9 + st.rnd.Float64()*0.05
		if st.active.aimed(scCanaryQuality, c.deployment) {
			quality = 0.58 + st.rnd.Float64()*0.08
		}
		c.traffic.Set(traffic)
		c.targetRatio.Set(c.target)
		c.drift.Set(drift)
		c.quality.Set(quality)
	}
}
