package simulator

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type platform struct {
	rate    float64
	success prometheus.Counter
	failure prometheus.Counter
}

// publisherModel simulates the smm-publisher job: posts published to each platform, the
// workspaces active in the last 24 h and the product licenses.
type publisherModel struct {
	platforms   []*platform
	workspaces  float64 // healthy active workspaces
	active      prometheus.Gauge
	expiry      []time.Time
	licenseVals []prometheus.Gauge
}

func newPublisherModel(platforms []string, workspaces int, reg prometheus.Registerer, r *rng, now time.Time) *publisherModel {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_publish_attempts_total",
		Help: "Attempts to publish a post to a platform, by outcome.",
	}, []string{"platform", "outcome"})
	active := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "smm_active_workspaces",
		Help: "Workspaces active in the last 24 hours.",
	})
	license := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_license_expiry_timestamp_seconds",
		Help: "Unix time at which the license expires.",
	}, []string{"license"})
	reg.MustRegister(attempts, active, license)

	m := &publisherModel{workspaces: 0.9 * float64(workspaces), active: active}
	for _, p := range platforms {
		m.platforms = append(m.platforms, &platform{
			rate:    r.jitter(0.2, 0.5),
			success: attempts.WithLabelValues(p, "success"),
			failure: attempts.WithLabelValues(p, "failure"),
		})
	}
	for _, l := range licenses {
		m.expiry = append(m.expiry, freshLicenseExpiry(now, r))
		m.licenseVals = append(m.licenseVals, license.WithLabelValues(l))
	}
	return m
}

// freshLicenseExpiry is the expiry of a renewed license: 180 to 365 days out.
func freshLicenseExpiry(now time.Time, r *rng) time.Time {
	return now.Add(180*day + time.Duration(r.Float64()*float64(185*day)))
}

func (m *publisherModel) advance(st *step) {
	failShare := 0.015
	if st.active.on(scPublishingFailures) {
		failShare = 0.7
	}
	for _, p := range m.platforms {
		ok, failed := st.rnd.split(st.rnd.count(p.rate*diurnal(st.now)*st.dt), failShare)
		p.success.Add(float64(ok))
		p.failure.Add(float64(failed))
	}

	active := math.Round(m.workspaces + st.rnd.NormFloat64()*2)
	if st.active.on(scWorkspaceDrop) {
		active = math.Round(60 + st.rnd.NormFloat64()*3)
	}
	m.active.Set(max(0, active))

	for i, l := range licenses {
		// Licenses renew 60 days ahead, far from the 30-day warning.
		if m.expiry[i].Sub(st.now) < 60*day {
			m.expiry[i] = freshLicenseExpiry(st.now, st.rnd)
		}
		exp := m.expiry[i]
		if st.active.aimed(scLicenseExpiry, l) {
			exp = st.active[scLicenseExpiry].since.Add(10 * day)
		}
		m.licenseVals[i].Set(float64(exp.Unix()))
	}
}
