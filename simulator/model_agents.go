package simulator

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// agentBuckets resolve p95 around the 60 s SMM_AgentHighLatency threshold.
var agentBuckets = []float64{1, 5, 10, 20, 30, 40, 50, 60, 75, 90, 120, 180, 300, 600}

type agent struct {
	name     string
	rate     float64 // executions per second
	queue    float64
	success  prometheus.Counter
	failure  prometheus.Counter
	duration prometheus.Observer
	depth    prometheus.Gauge
}

// agentsModel simulates the smm-agents job: every agent runs in one worker process,
// whose RSS is process_resident_memory_bytes.
type agentsModel struct {
	agents []*agent
	rss    prometheus.Gauge
}

const (
	agentBaseRSS = 420 * mib
	leakPerHour  = 16 * gib // SMM_AgentMemoryLeak fires above 1 GiB/h
)

func newAgentsModel(names []string, reg prometheus.Registerer, r *rng) *agentsModel {
	executions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_agent_executions_total",
		Help: "Agent executions, by outcome.",
	}, []string{"agent", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "smm_agent_execution_duration_seconds",
		Help:    "Duration of agent executions.",
		Buckets: agentBuckets,
	}, []string{"agent"})
	depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "smm_agent_queue_depth",
		Help: "Tasks waiting for the agent.",
	}, []string{"agent"})
	rss := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "process_resident_memory_bytes",
		Help: "Resident memory size of the agent worker process in bytes.",
	})
	reg.MustRegister(executions, duration, depth, rss)

	m := &agentsModel{rss: rss}
	for _, name := range names {
		m.agents = append(m.agents, &agent{
			name:     name,
			rate:     r.jitter(0.4, 0.3),
			queue:    r.Float64() * 10,
			success:  executions.WithLabelValues(name, "success"),
			failure:  executions.WithLabelValues(name, "failure"),
			duration: duration.WithLabelValues(name),
			depth:    depth.WithLabelValues(name),
		})
	}
	return m
}

func (m *agentsModel) advance(st *step) {
	dbDown := st.active.on(scDatabaseDown) || st.active.on(scDatabaseTargetDown)
	for _, a := range m.agents {
		failShare, median, sigma := 0.02, 12.0, 0.5
		if dbDown {
			failShare = 0.3
		}
		if st.active.aimed(scAgentFailures, a.name) {
			failShare = 0.35
		}
		if st.active.aimed(scAgentLatency, a.name) {
			median, sigma = 90, 0.3
		}
		n := st.rnd.count(a.rate * diurnal(st.now) * st.dt)
		ok, failed := st.rnd.split(n, failShare)
		a.success.Add(float64(ok))
		a.failure.Add(float64(failed))
		for range n {
			a.duration.Observe(st.rnd.logNormal(median, sigma))
		}

		// A healthy queue wanders between 0 and 20 tasks.
		a.queue = min(20, max(0, a.queue+st.rnd.NormFloat64()*math.Sqrt(st.dt)))
		depth := math.Round(a.queue)
		if st.active.aimed(scAgentQueueBacklog, a.name) {
			depth = min(500, 150+math.Round(0.5*st.elapsed(scAgentQueueBacklog)))
		}
		a.depth.Set(depth)
	}

	// Healthy RSS breathes slowly (±20 MiB over an hour) with a little noise; its
	// derivative stays far below the 1 GiB/h leak threshold.
	hour := float64(st.now.Unix()%3600) / 3600
	rss := agentBaseRSS + 20*mib*math.Sin(2*math.Pi*hour) + st.rnd.NormFloat64()*mib
	if st.active.on(scAgentMemoryLeak) {
		rss += leakPerHour * st.elapsed(scAgentMemoryLeak) / 3600
	}
	m.rss.Set(math.Round(rss))
}
