package simulator

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// campaignBudget is one campaign's budget. Allocated covers an eight-week flight, so the
// weekly allocation is an eighth of it; a healthy campaign spends half its weekly share a
// week, which keeps it clear of the burn-rate and exhaustion alerts.
type campaignBudget struct {
	key       string
	allocated float64
	weekly    float64
	base      float64 // healthy spend so far; scenarios add on top without changing it
	spent     prometheus.Gauge
	alloc     prometheus.Gauge
	week      prometheus.Gauge
}

// budgetModel simulates the smm-budget job.
type budgetModel struct {
	campaigns []*campaignBudget
}

const (
	budgetRollover = 0.75 // a healthy campaign starts a new flight at this share spent
	budgetCap      = 0.78 // spending scenarios stop short of the 0.80 threshold
)

func newBudgetModel(campaigns []campaignKey, reg prometheus.Registerer, r *rng) *budgetModel {
	labels := []string{"workspace", "campaign"}
	spent := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_budget_spent_dollars",
		Help: "Dollars the campaign has spent in its current flight.",
	}, labels)
	alloc := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_budget_allocated_dollars",
		Help: "Dollars allocated to the campaign's current flight.",
	}, labels)
	week := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_budget_weekly_allocation_dollars",
		Help: "Dollars the campaign may spend per week.",
	}, labels)
	reg.MustRegister(spent, alloc, week)

	m := &budgetModel{}
	for _, k := range campaigns {
		allocated := math.Round(20000+r.Float64()*40000) / 100 * 100
		m.campaigns = append(m.campaigns, &campaignBudget{
			key:       k.String(),
			allocated: allocated,
			weekly:    allocated / 8,
			base:      allocated * (0.25 + 0.3*r.Float64()),
			spent:     spent.WithLabelValues(k.workspace, k.campaign),
			alloc:     alloc.WithLabelValues(k.workspace, k.campaign),
			week:      week.WithLabelValues(k.workspace, k.campaign),
		})
	}
	return m
}

func (m *budgetModel) advance(st *step) {
	for _, c := range m.campaigns {
		targeted := false
		for _, name := range []string{scBudgetThreshold, scBudgetOverspend, scBudgetBurnRate, scBudgetExhaustion} {
			targeted = targeted || st.active.aimed(name, c.key)
		}

		daily := c.weekly / 7 * 0.5
		c.base += daily / day.Seconds() * st.dt * diurnal(st.now) * st.rnd.jitter(1, 0.3)
		if c.base > budgetRollover*c.allocated && !targeted {
			c.base = 0.05 * c.allocated
		}

		spent, allocated := c.base, c.allocated
		extra := 0.0
		if st.active.aimed(scBudgetBurnRate, c.key) {
			// A day's share of the weekly allocation every 30 s: the last 24 h's spend
			// times 7 passes the weekly allocation within a minute.
			extra += c.weekly / 7 / 30 * st.elapsed(scBudgetBurnRate)
		}
		if st.active.aimed(scBudgetExhaustion, c.key) {
			// Half the allocation a day: whatever remains is gone in under two days.
			extra += c.allocated / 2 / day.Seconds() * st.elapsed(scBudgetExhaustion)
		}
		if extra > 0 {
			spent = min(spent+extra, max(spent, budgetCap*allocated))
		}
		if st.active.aimed(scBudgetThreshold, c.key) {
			allocated = spent / 0.85
		}
		if st.active.aimed(scBudgetOverspend, c.key) {
			allocated = spent / 0.97
		}

		c.spent.Set(cents(spent))
		c.alloc.Set(cents(allocated))
		c.week.Set(cents(c.weekly))
	}
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }
