package simulator

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testWindow is the range of the rate-like measurements, in simulated time.
const testWindow = 15 * time.Minute

// scenarioCase measures, from scrapes only, the quantity an alert compares with its
// threshold, taking the worst instance: the maximum when the alert fires above the
// threshold, the minimum when it fires below.
type scenarioCase struct {
	scenario  string
	measure   func(h *harness) float64
	above     bool
	threshold float64
}

func (c scenarioCase) firing(v float64) bool {
	if c.above {
		return v > c.threshold
	}
	return v < c.threshold
}

// ratio returns, per key, num/den of two gauges of one scrape.
func ratio(s snapshot, num, den string) map[string]float64 {
	n, d := byKey(s.mfs, num), byKey(s.mfs, den)
	out := map[string]float64{}
	for k, v := range n {
		out[k] = v / d[k]
	}
	return out
}

func gaugeMax(job, name string) func(*harness) float64 {
	return func(h *harness) float64 { return maxOf(byKey(h.snap(job).mfs, name)) }
}

func gaugeMin(job, name string) func(*harness) float64 {
	return func(h *harness) float64 { return minOf(byKey(h.snap(job).mfs, name)) }
}

// scrapeOK is 1 while the job's endpoint answers 200, the simulated up metric.
func scrapeOK(job string) func(*harness) float64 {
	return func(h *harness) float64 { return boolGauge(h.snap(job).status == http.StatusOK) }
}

// timeLeft is the smallest "timestamp gauge minus now", in unit.
func timeLeft(job, name string, unit time.Duration) func(*harness) float64 {
	return func(h *harness) float64 {
		s := h.snap(job)
		left := math.Inf(1)
		for _, v := range byKey(s.mfs, name) {
			left = min(left, (v-float64(s.now.Unix()))/unit.Seconds())
		}
		return left
	}
}

func windowed(job string, f func(w window) float64) func(*harness) float64 {
	return func(h *harness) float64 { return f(h.window(job, testWindow)) }
}

var scenarioCases = []scenarioCase{
	{scConnectorOutage, gaugeMin(JobConnectors, "smm_connector_up"), false, 1},
	{scConnectorTargetDown, scrapeOK(JobConnectors), false, 1},
	{scConnectorErrors, windowed(JobConnectors, func(w window) float64 {
		return maxOf(w.share("smm_connector_requests_total", "outcome", "error"))
	}), true, 0.05},
	{scConnectorLatency, windowed(JobConnectors, func(w window) float64 {
		return maxOf(w.quantile("smm_connector_request_duration_seconds", 0.95))
	}), true, 5},
	{scConnectorRateLimited, windowed(JobConnectors, func(w window) float64 {
		return maxOf(w.increase("smm_connector_rate_limit_hits_total"))
	}), true, 0},
	{scConnectorTokenExpiry, timeLeft(JobConnectors, "smm_connector_token_expiry_timestamp_seconds", time.Hour), false, 72},
	{scBudgetThreshold, func(h *harness) float64 {
		return maxOf(ratio(h.snap(JobBudget), "smm_budget_spent_dollars", "smm_budget_allocated_dollars"))
	}, true, 0.80},
	{scBudgetOverspend, func(h *harness) float64 {
		return maxOf(ratio(h.snap(JobBudget), "smm_budget_spent_dollars", "smm_budget_allocated_dollars"))
	}, true, 0.95},
	{scBudgetBurnRate, windowed(JobBudget, func(w window) float64 {
		// Spend extrapolated to 24 h, times 7, over the weekly allocation.
		inc, weekly := w.increase("smm_budget_spent_dollars"), byKey(w.after.mfs, "smm_budget_weekly_allocation_dollars")
		out := map[string]float64{}
		for k, v := range inc {
			out[k] = v / w.seconds() * day.Seconds() * 7 / weekly[k]
		}
		return maxOf(out)
	}), true, 1},
	{scBudgetExhaustion, windowed(JobBudget, func(w window) float64 {
		// Days until spent reaches allocated at the window's pace.
		inc := w.increase("smm_budget_spent_dollars")
		spent, alloc := byKey(w.after.mfs, "smm_budget_spent_dollars"), byKey(w.after.mfs, "smm_budget_allocated_dollars")
		out := map[string]float64{}
		for k := range spent {
			out[k] = math.Inf(1)
			if pace := inc[k] / w.seconds(); pace > 0 {
				out[k] = (alloc[k] - spent[k]) / pace / day.Seconds()
			}
		}
		return minOf(out)
	}), false, 3},
	{scAgentFailures, windowed(JobAgents, func(w window) float64 {
		return maxOf(w.share("smm_agent_executions_total", "outcome", "failure"))
	}), true, 0.10},
	{scAgentLatency, windowed(JobAgents, func(w window) float64 {
		return maxOf(w.quantile("smm_agent_execution_duration_seconds", 0.95))
	}), true, 60},
	{scAgentQueueBacklog, gaugeMax(JobAgents, "smm_agent_queue_depth"), true, 100},
	{scAgentMemoryLeak, windowed(JobAgents, func(w window) float64 {
		// deriv(process_resident_memory_bytes) in GiB per hour.
		return maxOf(w.increase("process_resident_memory_bytes")) / w.seconds() * 3600 / gib
	}), true, 1},
	{scSimulationFailures, windowed(JobSimulation, func(w window) float64 {
		return maxOf(w.share("smm_simulation_runs_total", "outcome", "failure"))
	}), true, 0.05},
	{scSimulationLatency, windowed(JobSimulation, func(w window) float64 {
		return maxOf(w.quantile("smm_simulation_duration_seconds", 0.95))
	}), true, 30},
	{scSimulationExhaustion, gaugeMax(JobSimulation, "smm_simulations_active"), true, 50},
	{scCanaryFailure, windowed(JobCanary, func(w window) float64 {
		return maxOf(w.increase("smm_canary_deployment_failures_total"))
	}), true, 0},
	{scCanaryTraffic, func(h *harness) float64 {
		s := h.snap(JobCanary)
		observed, target := byKey(s.mfs, "smm_canary_traffic_ratio"), byKey(s.mfs, "smm_canary_traffic_target_ratio")
		out := map[string]float64{}
		for k, v := range observed {
			out[k] = math.Abs(v - target[k])
		}
		return maxOf(out)
	}, true, 0.05},
	{scCanaryDrift, gaugeMax(JobCanary, "smm_canary_model_drift_score"), true, 0.3},
	{scCanaryQuality, gaugeMin(JobCanary, "smm_canary_quality_score"), false, 0.8},
	{scDatabaseDown, gaugeMin(JobPostgres, "pg_up"), false, 1},
	{scDatabaseTargetDown, scrapeOK(JobPostgres), false, 1},
	{scRedisDown, gaugeMin(JobRedis, "redis_up"), false, 1},
	{scRedisTargetDown, scrapeOK(JobRedis), false, 1},
	{scDiskFull, func(h *harness) float64 {
		s := h.snap(JobNode)
		avail, size := samples(s.mfs, "node_filesystem_avail_bytes"), byKey(s.mfs, "node_filesystem_size_bytes")
		used := map[string]float64{}
		for _, a := range avail {
			if a.labels["fstype"] != "tmpfs" {
				k := key(a.labels)
				used[k] = 1 - a.value/size[k]
			}
		}
		return maxOf(used)
	}, true, 0.85},
	{scMemoryHigh, func(h *harness) float64 {
		s := h.snap(JobNode)
		return 1 - maxOf(byKey(s.mfs, "node_memory_MemAvailable_bytes"))/maxOf(byKey(s.mfs, "node_memory_MemTotal_bytes"))
	}, true, 0.9},
	{scBruteForce401, windowed(JobAPI, func(w window) float64 {
		// 401 responses per 5 minutes.
		return w.increase("smm_http_requests_total", "handler")["code=401"] / w.seconds() * 300
	}), true, 20},
	{scSuspiciousUser, windowed(JobAPI, func(w window) float64 {
		// Requests per minute of the busiest user.
		return maxOf(w.increase("smm_user_requests_total")) / w.seconds() * 60
	}), true, 100},
	{scVaultDown, scrapeOK(JobVault), false, 1},
	{scPublishingFailures, windowed(JobPublisher, func(w window) float64 {
		inc := w.increase("smm_publish_attempts_total", "platform")
		return inc["outcome=success"] / (inc["outcome=success"] + inc["outcome=failure"])
	}), false, 0.95},
	{scWorkspaceDrop, gaugeMin(JobPublisher, "smm_active_workspaces"), false, 100},
	{scLicenseExpiry, timeLeft(JobPublisher, "smm_license_expiry_timestamp_seconds", day), false, 30},
}

// TestScenarios activates each scenario over the control API, checks that the alert's
// quantity crossed the spec threshold, deactivates it and checks that it is back.
func TestScenarios(t *testing.T) {
	for _, c := range scenarioCases {
		t.Run(c.scenario, func(t *testing.T) {
			h := startHarness(t, nil)
			require.Equal(t, http.StatusOK, h.call(http.MethodPost, "/scenario/"+c.scenario))
			v := c.measure(h)
			t.Logf("active: %v", v)
			require.True(t, c.firing(v), "active: measured %v, want %s %v", v, cmp(c.above), c.threshold)

			require.Equal(t, http.StatusOK, h.call(http.MethodDelete, "/scenario/"+c.scenario))
			v = c.measure(h)
			t.Logf("deactivated: %v", v)
			require.False(t, c.firing(v), "deactivated: measured %v, want not %s %v", v, cmp(c.above), c.threshold)
		})
	}
}

func cmp(above bool) string {
	if above {
		return ">"
	}
	return "<"
}

// specAlerts are the alerts of the spec, each of which some scenario must drive.
var specAlerts = []string{
	"SMM_ConnectorDown", "SMM_ConnectorHighErrorRate", "SMM_ConnectorHighLatency",
	"SMM_ConnectorRateLimited", "SMM_ConnectorTokenExpiry",
	"SMM_BudgetThresholdExceeded", "SMM_BudgetCriticalOverspend", "SMM_BudgetBurnRateHigh",
	"SMM_BudgetExhaustionPredicted",
	"SMM_AgentHighFailureRate", "SMM_AgentHighLatency", "SMM_AgentQueueBacklog", "SMM_AgentMemoryLeak",
	"SMM_SimulationHighFailureRate", "SMM_SimulationHighLatency", "SMM_SimulationResourceExhaustion",
	"SMM_CanaryDeploymentFailure", "SMM_CanaryTrafficAnomalies", "SMM_CanaryModelDrift",
	"SMM_CanaryQualityDegradation",
	"SMM_DatabaseConnectionFailure", "SMM_RedisConnectionFailure", "SMM_DiskSpaceWarning",
	"SMM_HighMemoryUsage", "SMM_UnauthorizedAPIAccess", "SMM_SuspiciousUserActivity",
	"SMM_VaultConnectionFailure", "SMM_PublishingSuccessRateDropped", "SMM_WorkspaceActivityDrop",
	"SMM_LicenseExpiration",
}

// TestScenarioCoverage checks that every scenario is tested and every spec alert driven.
func TestScenarioCoverage(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range scenarioCases {
		tested[c.scenario] = true
	}
	driven := map[string]bool{}
	for _, sc := range Scenarios {
		require.True(t, tested[sc.Name], "scenario %s has no test case", sc.Name)
		require.NotEmpty(t, sc.Description, sc.Name)
		require.Contains(t, JobNames, sc.Job, sc.Name)
		for _, a := range sc.Alerts {
			require.Contains(t, specAlerts, a, "scenario %s", sc.Name)
			driven[a] = true
		}
		require.True(t, strings.Contains(sc.Name, "-"), sc.Name)
	}
	require.Len(t, tested, len(Scenarios), "test cases for unknown scenarios")
	for _, a := range specAlerts {
		require.True(t, driven[a], "no scenario drives %s", a)
	}
}

// TestScenarioTargets aims scenarios at non-default targets and checks the errors.
func TestScenarioTargets(t *testing.T) {
	h := startHarness(t, nil)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/scenario/connector-outage?target=tiktok", http.StatusOK},
		{"/scenario/budget-overspend?target=ws-002/campaign-2", http.StatusOK},
		{"/scenario/disk-full?target=/", http.StatusOK},
		{"/scenario/connector-outage?target=myspace", http.StatusBadRequest},
		{"/scenario/disk-full?target=/dev/shm", http.StatusBadRequest},
		{"/scenario/vault-down?target=x", http.StatusBadRequest},
		{"/scenario/no-such-thing", http.StatusNotFound},
	} {
		require.Equal(t, tc.want, h.call(http.MethodPost, tc.path), tc.path)
	}
	require.Equal(t, map[string]float64{
		"connector=linkedin": 1, "connector=twitter": 1, "connector=facebook": 1,
		"connector=instagram": 1, "connector=tiktok": 0, "connector=youtube": 1,
	}, byKey(h.snap(JobConnectors).mfs, "smm_connector_up"))

	r := ratio(h.snap(JobBudget), "smm_budget_spent_dollars", "smm_budget_allocated_dollars")
	require.InDelta(t, 0.97, r["campaign=campaign-2,workspace=ws-002"], 0.001)
	require.Less(t, r["campaign=campaign-1,workspace=ws-001"], 0.8)

	var statuses []ScenarioStatus
	h.getJSON("/scenarios", &statuses)
	active := map[string]string{}
	for _, st := range statuses {
		if st.Active {
			active[st.Name] = st.Target
		}
	}
	require.Equal(t, map[string]string{
		scConnectorOutage: "tiktok", scBudgetOverspend: "ws-002/campaign-2", scDiskFull: "/",
	}, active)

	require.Equal(t, http.StatusOK, h.call(http.MethodDelete, "/scenarios"))
	h.getJSON("/scenarios", &statuses)
	for _, st := range statuses {
		require.False(t, st.Active, st.Name)
	}
	require.Equal(t, http.StatusNotFound, h.call(http.MethodDelete, "/scenario/no-such-thing"))
	require.Equal(t, http.StatusOK, h.call(http.MethodDelete, "/scenario/"+scVaultDown), "deactivating an inactive scenario")
}

// TestTmpfsIsFull keeps the full /dev/shm that disk alerts must filter out.
func TestTmpfsIsFull(t *testing.T) {
	h := startHarness(t, nil)
	s := h.snap(JobNode)
	avail, size := byKey(s.mfs, "node_filesystem_avail_bytes"), byKey(s.mfs, "node_filesystem_size_bytes")
	k := "device=tmpfs,fstype=tmpfs,mountpoint=/dev/shm"
	require.Contains(t, avail, k)
	require.Greater(t, 1-avail[k]/size[k], 0.85, fmt.Sprintf("%s used", k))
}
