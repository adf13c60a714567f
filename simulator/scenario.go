package simulator

import (
	"errors"
	"time"
)

// Scenario names. Each drives the alerts named in its description into firing while it
// is active; deactivating it returns the metrics to healthy.
const (
	scConnectorOutage      = "connector-outage"
	scConnectorTargetDown  = "connector-target-down"
	scConnectorErrors      = "connector-errors"
	scConnectorLatency     = "connector-latency"
	scConnectorRateLimited = "connector-rate-limited"
	scConnectorTokenExpiry = "connector-token-expiry"
	scBudgetThreshold      = "budget-threshold"
	scBudgetOverspend      = "budget-overspend"
	scBudgetBurnRate       = "budget-burn-rate"
	scBudgetExhaustion     = "budget-exhaustion"
	scAgentFailures        = "agent-failures"
	scAgentLatency         = "agent-latency"
	scAgentQueueBacklog    = "agent-queue-backlog"
	scAgentMemoryLeak      = "agent-memory-leak"
	scSimulationFailures   = "simulation-failures"
	scSimulationLatency    = "simulation-latency"
	scSimulationExhaustion = "simulation-exhaustion"
	scCanaryFailure        = "canary-failure"
	scCanaryTraffic        = "canary-traffic"
	scCanaryDrift          = "canary-drift"
	scCanaryQuality        = "canary-quality"
	scDatabaseDown         = "database-down"
	scDatabaseTargetDown   = "database-target-down"
	scRedisDown            = "redis-down"
	scRedisTargetDown      = "redis-target-down"
	scDiskFull             = "disk-full"
	scMemoryHigh           = "memory-high"
	scBruteForce401        = "brute-force-401"
	scSuspiciousUser       = "suspicious-user"
	scVaultDown            = "vault-down"
	scPublishingFailures   = "publishing-failures"
	scWorkspaceDrop        = "workspace-drop"
	scLicenseExpiry        = "license-expiry"
)

// Kinds of scenario targets: what a scenario can be aimed at with ?target=.
const (
	TargetConnector  = "connector"
	TargetAgent      = "agent"
	TargetCampaign   = "campaign" // "<workspace>/<campaign>"
	TargetDeployment = "deployment"
	TargetUser       = "user"
	TargetMountpoint = "mountpoint"
	TargetLicense    = "license"
)

// Sentinel errors of Activate and Deactivate.
var (
	ErrUnknownScenario = errors.New("unknown scenario")
	ErrUnknownTarget   = errors.New("unknown target")
)

// Scenario is a named fault the simulator can inject.
type Scenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Alerts      []string `json:"alerts"`
	// Job is the job whose metrics the scenario moves.
	Job string `json:"job"`
	// TargetKind is what the scenario can be aimed at; empty if it has no target.
	TargetKind string `json:"target_kind,omitempty"`
	// TargetDown makes Job's endpoint answer 503 while the scenario is active, so
	// Prometheus records up == 0 for it.
	TargetDown bool `json:"target_down,omitempty"`
}

// Scenarios lists every scenario, at least one per alert of the spec.
var Scenarios = []Scenario{
	{scConnectorOutage, "one connector reports smm_connector_up 0 and fails all requests", []string{"SMM_ConnectorDown"}, JobConnectors, TargetConnector, false},
	{scConnectorTargetDown, "the smm-connectors endpoint answers 503 (up == 0)", []string{"SMM_ConnectorDown"}, JobConnectors, "", true},
	{scConnectorErrors, "30 % of one connector's requests fail", []string{"SMM_ConnectorHighErrorRate"}, JobConnectors, TargetConnector, false},
	{scConnectorLatency, "one connector's requests take ~8 s (p95 ~13 s)", []string{"SMM_ConnectorHighLatency"}, JobConnectors, TargetConnector, false},
	{scConnectorRateLimited, "one connector hits the platform's rate limit ~1.5 times a second", []string{"SMM_ConnectorRateLimited"}, JobConnectors, TargetConnector, false},
	{scConnectorTokenExpiry, "one connector's main account token expires 48 h after activation", []string{"SMM_ConnectorTokenExpiry"}, JobConnectors, TargetConnector, false},
	{scBudgetThreshold, "one campaign's allocation is cut to spent / 0.85", []string{"SMM_BudgetThresholdExceeded"}, JobBudget, TargetCampaign, false},
	{scBudgetOverspend, "one campaign's allocation is cut to spent / 0.97 (also exceeds the 0.80 threshold and predicts exhaustion)", []string{"SMM_BudgetCriticalOverspend", "SMM_BudgetThresholdExceeded", "SMM_BudgetExhaustionPredicted"}, JobBudget, TargetCampaign, false},
	{scBudgetBurnRate, "one campaign spends a day's share of its weekly allocation every 30 s (capped at 78 % of its allocation)", []string{"SMM_BudgetBurnRateHigh"}, JobBudget, TargetCampaign, false},
	{scBudgetExhaustion, "one campaign spends at a pace that exhausts its allocation in about two days (capped at 78 %)", []string{"SMM_BudgetExhaustionPredicted"}, JobBudget, TargetCampaign, false},
	{scAgentFailures, "35 % of one agent's executions fail", []string{"SMM_AgentHighFailureRate"}, JobAgents, TargetAgent, false},
	{scAgentLatency, "one agent's executions take ~90 s", []string{"SMM_AgentHighLatency"}, JobAgents, TargetAgent, false},
	{scAgentQueueBacklog, "one agent's queue jumps to 150 and keeps growing to 500", []string{"SMM_AgentQueueBacklog"}, JobAgents, TargetAgent, false},
	{scAgentMemoryLeak, "the agents' RSS grows 16 GiB/h; it drops back (restart) when deactivated", []string{"SMM_AgentMemoryLeak"}, JobAgents, "", false},
	{scSimulationFailures, "40 % of simulation runs fail", []string{"SMM_SimulationHighFailureRate"}, JobSimulation, "", false},
	{scSimulationLatency, "simulation runs take ~45 s", []string{"SMM_SimulationHighLatency"}, JobSimulation, "", false},
	{scSimulationExhaustion, "60-80 simulations run at once", []string{"SMM_SimulationResourceExhaustion"}, JobSimulation, "", false},
	{scCanaryFailure, "one canary deployment fails 20 s after activation, then every minute", []string{"SMM_CanaryDeploymentFailure"}, JobCanary, TargetDeployment, false},
	{scCanaryTraffic, "one canary receives 25 % of traffic against a 10 % target", []string{"SMM_CanaryTrafficAnomalies"}, JobCanary, TargetDeployment, false},
	{scCanaryDrift, "one canary model's drift score rises to ~0.45", []string{"SMM_CanaryModelDrift"}, JobCanary, TargetDeployment, false},
	{scCanaryQuality, "one canary model's quality score falls to ~0.62", []string{"SMM_CanaryQualityDegradation"}, JobCanary, TargetDeployment, false},
	{scDatabaseDown, "pg_up 0; agents fail 30 % of executions (inhibited by the database alert)", []string{"SMM_DatabaseConnectionFailure", "SMM_AgentHighFailureRate"}, JobPostgres, "", false},
	{scDatabaseTargetDown, "the postgres exporter endpoint answers 503 (up == 0); agents fail 30 %", []string{"SMM_DatabaseConnectionFailure", "SMM_AgentHighFailureRate"}, JobPostgres, "", true},
	{scRedisDown, "redis_up 0", []string{"SMM_RedisConnectionFailure"}, JobRedis, "", false},
	{scRedisTargetDown, "the redis exporter endpoint answers 503 (up == 0)", []string{"SMM_RedisConnectionFailure"}, JobRedis, "", true},
	{scDiskFull, "one real filesystem is 94 % used", []string{"SMM_DiskSpaceWarning"}, JobNode, TargetMountpoint, false},
	{scMemoryHigh, "the node's available memory falls to ~4 %", []string{"SMM_HighMemoryUsage"}, JobNode, "", false},
	{scBruteForce401, "/api/v1/auth/login answers 401 three times a second", []string{"SMM_UnauthorizedAPIAccess"}, JobAPI, "", false},
	{scSuspiciousUser, "one user makes ~240 requests a minute", []string{"SMM_SuspiciousUserActivity"}, JobAPI, TargetUser, false},
	{scVaultDown, "the vault endpoint answers 503 (up == 0)", []string{"SMM_VaultConnectionFailure"}, JobVault, "", true},
	{scPublishingFailures, "70 % of publish attempts fail on every platform (the alert's 24 h window dilutes this by the healthy history)", []string{"SMM_PublishingSuccessRateDropped"}, JobPublisher, "", false},
	{scWorkspaceDrop, "active workspaces fall to ~60", []string{"SMM_WorkspaceActivityDrop"}, JobPublisher, "", false},
	{scLicenseExpiry, "one license expires 10 days after activation", []string{"SMM_LicenseExpiration"}, JobPublisher, TargetLicense, false},
}

var scenarioByName = func() map[string]Scenario {
	m := make(map[string]Scenario, len(Scenarios))
	for _, s := range Scenarios {
		m[s.Name] = s
	}
	return m
}()

// activation is one active scenario.
type activation struct {
	target string
	since  time.Time // simulated clock at activation
	source string    // who activated it: "api", "flag", "demo"
}

// activeSet maps active scenario names to their activation. It is owned by Simulator.mu.
type activeSet map[string]activation

// on reports whether the scenario is active.
func (a activeSet) on(name string) bool {
	_, ok := a[name]
	return ok
}

// aimed reports whether the scenario is active and aimed at target.
func (a activeSet) aimed(name, target string) bool {
	act, ok := a[name]
	return ok && act.target == target
}

// ScenarioStatus is a scenario and whether, and on what, it is active.
type ScenarioStatus struct {
	Scenario
	DefaultTarget string     `json:"default_target,omitempty"`
	Active        bool       `json:"active"`
	Target        string     `json:"target,omitempty"`
	Since         *time.Time `json:"since,omitempty"`
	Source        string     `json:"source,omitempty"`
}
