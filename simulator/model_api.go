package simulator

import (
	"github.com/prometheus/client_golang/prometheus"
)

// apiRoute is one handler of the SMM API with its traffic mix.
type apiRoute struct {
	handler string
	rate    float64 // requests per second at the diurnal mean
	codes   []apiCode
}

type apiCode struct {
	code  string
	share float64
}

const loginHandler = "/api/v1/auth/login"

// apiRoutes is the healthy traffic mix. Logins fail with 401 about once every 3 minutes,
// well below the 20 per 5 m of SMM_UnauthorizedAPIAccess.
var apiRoutes = []apiRoute{
	{"/api/v1/workspaces", 3, []apiCode{{"200", 0.985}, {"404", 0.01}, {"500", 0.005}}},
	{"/api/v1/campaigns", 4, []apiCode{{"200", 0.98}, {"400", 0.01}, {"404", 0.007}, {"500", 0.003}}},
	{"/api/v1/posts", 6, []apiCode{{"200", 0.7}, {"201", 0.28}, {"400", 0.015}, {"500", 0.005}}},
	{"/api/v1/analytics", 2, []apiCode{{"200", 0.99}, {"500", 0.01}}},
	{loginHandler, 0.3, []apiCode{{"200", 0.98}, {"401", 0.02}}},
}

type apiUser struct {
	name     string
	rate     float64
	requests prometheus.Counter
}

// apiModel simulates the smm-api job.
type apiModel struct {
	routes   [][]prometheus.Counter // by route, then code, in apiRoutes order
	login401 prometheus.Counter
	users    []*apiUser
}

func newAPIModel(users []string, reg prometheus.Registerer, r *rng) *apiModel {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_http_requests_total",
		Help: "HTTP requests served by the SMM API, by handler and status code.",
	}, []string{"handler", "code"})
	perUser := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_user_requests_total",
		Help: "API requests made by each user.",
	}, []string{"user"})
	reg.MustRegister(requests, perUser)

	m := &apiModel{login401: requests.WithLabelValues(loginHandler, "401")}
	for _, rt := range apiRoutes {
		var cs []prometheus.Counter
		for _, c := range rt.codes {
			cs = append(cs, requests.WithLabelValues(rt.handler, c.code))
		}
		m.routes = append(m.routes, cs)
	}
	for _, u := range users {
		// At most 30 requests a minute each, a third of the suspicious-activity threshold.
		m.users = append(m.users, &apiUser{name: u, rate: 0.05 + r.Float64()*0.45, requests: perUser.WithLabelValues(u)})
	}
	return m
}

func (m *apiModel) advance(st *step) {
	load := diurnal(st.now) * st.dt
	for i, rt := range apiRoutes {
		for j, c := range rt.codes {
			m.routes[i][j].Add(float64(st.rnd.count(rt.rate * c.share * load)))
		}
	}
	if st.active.on(scBruteForce401) {
		m.login401.Add(float64(st.rnd.count(3 * st.dt)))
	}
	for _, u := range m.users {
		rate := u.rate * diurnal(st.now)
		if st.active.aimed(scSuspiciousUser, u.name) {
			rate = 4
		}
		u.requests.Add(float64(st.rnd.count(rate * st.dt)))
	}
}
