package simulator

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connectorBuckets resolve p95 around the 5 s SMM_ConnectorHighLatency threshold.
var connectorBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 30}

// connector is one social network connector and its bound metric children.
type connector struct {
	name     string
	rate     float64 // requests per second at the diurnal mean
	expiry   []time.Time
	up       prometheus.Gauge
	success  prometheus.Counter
	errors   prometheus.Counter
	duration prometheus.Observer
	limited  prometheus.Counter
	tokens   []prometheus.Gauge
}

// connectorsModel simulates the smm-connectors job.
type connectorsModel struct {
	connectors []*connector
}

func newConnectorsModel(names []string, reg prometheus.Registerer, r *rng, now time.Time) *connectorsModel {
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_connector_up",
		Help: "Whether the connector can reach its platform (1) or not (0).",
	}, []string{"connector"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_connector_requests_total",
		Help: "Requests the connector made to its platform, by outcome.",
	}, []string{"connector", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "smm_connector_request_duration_seconds",
		Help:    "Duration of the connector's platform requests.",
		Buckets: connectorBuckets,
	}, []string{"connector"})
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_connector_rate_limit_hits_total",
		Help: "Requests the platform rejected with a rate limit.",
	}, []string{"connector"})
	tokens := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_connector_token_expiry_timestamp_seconds",
		Help: "Unix time at which the connector's OAuth token for the account expires.",
	}, []string{"connector", "account"})
	reg.MustRegister(up, requests, duration, limited, tokens)

	m := &connectorsModel{}
	for i, name := range names {
		c := &connector{
			name:     name,
			rate:     5 + float64((i*7)%20) + r.Float64()*3,
			up:       up.WithLabelValues(name),
			success:  requests.WithLabelValues(name, "success"),
			errors:   requests.WithLabelValues(name, "error"),
			duration: duration.WithLabelValues(name),
			limited:  limited.WithLabelValues(name),
		}
		for _, acct := range tokenAccounts {
			c.expiry = append(c.expiry, freshTokenExpiry(now, r))
			c.tokens = append(c.tokens, tokens.WithLabelValues(name, acct))
		}
		m.connectors = append(m.connectors, c)
	}
	return m
}

// freshTokenExpiry is the expiry of a newly refreshed token: 45 to 60 days out.
func freshTokenExpiry(now time.Time, r *rng) time.Time {
	return now.Add(45*day + time.Duration(r.Float64()*float64(15*day)))
}

func (m *connectorsModel) advance(st *step) {
	for _, c := range m.connectors {
		down := st.active.aimed(scConnectorOutage, c.name)
		c.up.Set(boolGauge(!down))

		errShare, median, sigma := 0.005, 0.25, 0.6
		switch {
		case down:
			// The platform is unreachable: requests fail fast on connect.
			errShare, median, sigma = 1, 0.05, 0.3
		case st.active.aimed(scConnectorErrors, c.name):
			errShare = 0.3
		}
		if st.active.aimed(scConnectorLatency, c.name) && !down {
			median, sigma = 8, 0.25
		}
		n := st.rnd.count(c.rate * diurnal(st.now) * st.dt)
		ok, failed := st.rnd.split(n, errShare)
		c.success.Add(float64(ok))
		c.errors.Add(float64(failed))
		for range n {
			c.duration.Observe(st.rnd.logNormal(median, sigma))
		}

		if st.active.aimed(scConnectorRateLimited, c.name) {
			c.limited.Add(float64(st.rnd.count(1.5 * st.dt)))
		}

		for i := range c.expiry {
			// Tokens are refreshed two weeks before they expire, so a healthy fleet never
			// comes near the 72 h warning.
			if c.expiry[i].Sub(st.now) < 14*day {
				c.expiry[i] = freshTokenExpiry(st.now, st.rnd)
			}
			exp := c.expiry[i]
			if i == 0 && st.active.aimed(scConnectorTokenExpiry, c.name) {
				exp = st.active[scConnectorTokenExpiry].since.Add(48 * time.Hour)
			}
			c.tokens[i].Set(float64(exp.Unix()))
		}
	}
}
