package configs

import (
	"slices"
)

// specAlert is one alert the appliance ships, as the tests expect it.
type specAlert struct {
	name     string
	severity string
	// teams are the spec's "team → receivers" column, in the spec's order.
	teams []string
	// team is the owning team the rules put in the label team; service and
	// category are the rule labels of the same names (our conventions; the
	// spec only requires that they exist).
	team, service, category string
}

// specAlerts is the alert table of shared/smm-alerting-spec.md ("The alerts"),
// copied here so that the tests do not depend on the spec's file.
var specAlerts = []specAlert{
	{"SMM_ConnectorDown", "critical", []string{"platform", "connector"}, "connector", "smm-connectors", "connectors"},
	{"SMM_ConnectorHighErrorRate", "warning", []string{"platform", "connector"}, "connector", "smm-connectors", "connectors"},
	{"SMM_ConnectorHighLatency", "warning", []string{"platform", "connector"}, "connector", "smm-connectors", "connectors"},
	{"SMM_ConnectorRateLimited", "warning", []string{"platform", "connector"}, "connector", "smm-connectors", "connectors"},
	{"SMM_ConnectorTokenExpiry", "warning", []string{"platform", "connector"}, "connector", "smm-connectors", "connectors"},
	{"SMM_BudgetThresholdExceeded", "warning", []string{"finance", "platform"}, "finance", "smm-budget", "budget"},
	{"SMM_BudgetCriticalOverspend", "critical", []string{"finance", "platform"}, "finance", "smm-budget", "budget"},
	{"SMM_BudgetBurnRateHigh", "warning", []string{"finance", "platform"}, "finance", "smm-budget", "budget"},
	{"SMM_BudgetExhaustionPredicted", "warning", []string{"finance", "platform"}, "finance", "smm-budget", "budget"},
	{"SMM_AgentHighFailureRate", "warning", []string{"platform", "agent"}, "agent", "smm-agents", "agents"},
	{"SMM_AgentHighLatency", "warning", []string{"platform", "agent"}, "agent", "smm-agents", "agents"},
	{"SMM_AgentQueueBacklog", "warning", []string{"platform", "agent"}, "agent", "smm-agents", "agents"},
	{"SMM_AgentMemoryLeak", "warning", []string{"platform", "agent"}, "agent", "smm-agents", "agents"},
	{"SMM_SimulationHighFailureRate", "warning", []string{"platform", "ml"}, "ml", "smm-simulation", "simulation"},
	{"SMM_SimulationHighLatency", "warning", []string{"platform", "ml"}, "ml", "smm-simulation", "simulation"},
	{"SMM_SimulationResourceExhaustion", "warning", []string{"platform", "ml"}, "ml", "smm-simulation", "simulation"},
	{"SMM_CanaryDeploymentFailure", "critical", []string{"platform", "ml"}, "ml", "smm-canary", "canary"},
	{"SMM_CanaryTrafficAnomalies", "warning", []string{"platform", "ml"}, "ml", "smm-canary", "canary"},
	{"SMM_CanaryModelDrift", "warning", []string{"ml"}, "ml", "smm-canary", "canary"},
	{"SMM_CanaryQualityDegradation", "warning", []string{"ml"}, "ml", "smm-canary", "canary"},
	{"SMM_DatabaseConnectionFailure", "critical", []string{"database", "platform"}, "database", "postgres", "infrastructure"},
	{"SMM_RedisConnectionFailure", "critical", []string{"database", "platform"}, "database", "redis", "infrastructure"},
	{"SMM_DiskSpaceWarning", "warning", []string{"platform"}, "platform", "node", "infrastructure"},
	{"SMM_HighMemoryUsage", "warning", []string{"platform"}, "platform", "node", "infrastructure"},
	{"SMM_UnauthorizedAPIAccess", "critical", []string{"security", "ciso"}, "security", "smm-api", "security"},
	{"SMM_SuspiciousUserActivity", "critical", []string{"security", "ciso"}, "security", "smm-api", "security"},
	{"SMM_VaultConnectionFailure", "critical", []string{"security", "ciso"}, "security", "vault", "security"},
	{"SMM_PublishingSuccessRateDropped", "warning", []string{"business"}, "business", "smm-publisher", "business"},
	{"SMM_WorkspaceActivityDrop", "warning", []string{"business"}, "business", "smm-publisher", "business"},
	{"SMM_LicenseExpiration", "warning", []string{"business"}, "business", "smm-publisher", "business"},
}

// applianceAlerts are the appliance's own alerts ("The appliance's own alerts"
// in the spec). TargetDown's service is the job of the down target.
var applianceAlerts = []specAlert{
	{"Watchdog", "none", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	{"TargetDown", "warning", []string{"platform"}, "platform", "{{ $labels.job }}", "appliance"},
	{"RuleEvaluationFailures", "critical", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	{"NotificationDeliveryFailures", "critical", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	{"TSDBFailures", "critical", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	{"OwnDiskNearlyFull", "critical", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	{"ConfigReloadFailed", "warning", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	// The meta-alerts on the alerting SLOs (docs/slo.md).
	{"AlertProcessingLatencySLO", "warning", []string{"platform"}, "platform", "smm-appliance", "appliance"},
	{"AlertDeliverySLO", "warning", []string{"platform"}, "platform", "smm-appliance", "appliance"},
}

// allAlerts is every alert the shipped rules must define.
func allAlerts() []specAlert { return slices.Concat(specAlerts, applianceAlerts) }

// teamChannels is the spec's "Receivers and channels" table: Slack channel
// ("" = none) and e-mail address per team.
var teamChannels = map[string]struct{ slack, email string }{
	"platform":  {"#smm-platform-alerts", "platform-team@smm-architect.com"},
	"connector": {"#smm-connector-alerts", "connector-team@smm-architect.com"},
	"agent":     {"#smm-agent-alerts", "agent-team@smm-architect.com"},
	"ml":        {"#smm-ml-alerts", "ml-team@smm-architect.com"},
	"finance":   {"#smm-finance-alerts", "finance-team@smm-architect.com"},
	"database":  {"#smm-database-alerts", "database-team@smm-architect.com"},
	"security":  {"#smm-security-alerts", "security-team@smm-architect.com"},
	"ciso":      {"", "ciso@smm-architect.com"},
	"business":  {"#smm-business-alerts", "business-team@smm-architect.com"},
}
