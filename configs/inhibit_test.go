package configs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/labelset"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestInhibitRules pins the inhibition rules the spec asks for.
func TestInhibitRules(t *testing.T) {
	cfg := loadAlertmanager(t, testEnv)
	type rule struct{ source, target, equal []string }
	want := map[string]rule{
		"critical-mutes-warnings": {
			source: []string{`severity="critical"`},
			target: []string{`severity="warning"`},
			equal: []string{"service", "instance", "connector", "account", "workspace", "campaign", "agent",
				"deployment", "mountpoint", "user", "license", "rule_group", "integration", "failure", "path"},
		},
		"overspend-mutes-budget-threshold": {
			source: []string{`alertname="SMM_BudgetCriticalOverspend"`},
			target: []string{`alertname="SMM_BudgetThresholdExceeded"`},
			equal:  []string{"workspace", "campaign"},
		},
		"connector-down-mutes-connector-symptoms": {
			source: []string{`alertname="SMM_ConnectorDown"`},
			target: []string{`alertname=~"SMM_ConnectorHighErrorRate|SMM_ConnectorHighLatency|SMM_ConnectorRateLimited"`},
			equal:  []string{"connector"},
		},
		"database-down-mutes-agent-failures": {
			source: []string{`alertname="SMM_DatabaseConnectionFailure"`},
			target: []string{`alertname="SMM_AgentHighFailureRate"`},
		},
		"target-down-mutes-its-alerts": {
			source: []string{`target_down="true"`},
			target: []string{`target_down!="true"`},
			equal:  []string{"job", "instance"},
		},
	}
	got := map[string]rule{}
	for _, r := range cfg.InhibitRules {
		var g rule
		for _, m := range r.SourceMatchers {
			g.source = append(g.source, m.String())
		}
		for _, m := range r.TargetMatchers {
			g.target = append(g.target, m.String())
		}
		g.equal = r.Equal
		require.Empty(t, r.SourceMatch, "%s: use source_matchers", r.Name)
		require.Empty(t, r.TargetMatch, "%s: use target_matchers", r.Name)
		got[r.Name] = g
	}
	require.Equal(t, want, got)
}

// firing builds a firing alert from label pairs.
func firing(kv ...string) model.LabelSet {
	ls := model.LabelSet{}
	for i := 0; i+1 < len(kv); i += 2 {
		ls[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
	}
	return ls
}

// Label sets of alerts as the shipped rules produce them.
var (
	connectorDown = firing("alertname", "SMM_ConnectorDown", "severity", "critical", "service", "smm-connectors",
		"job", "smm-connectors", "instance", "c:9101", "connector", "twitter")
	connectorsTargetDown = firing("alertname", "SMM_ConnectorDown", "severity", "critical", "service", "smm-connectors",
		"job", "smm-connectors", "instance", "c:9101", "target_down", "true")
	connectorErrors = func(connector string) model.LabelSet {
		return firing("alertname", "SMM_ConnectorHighErrorRate", "severity", "warning", "service", "smm-connectors",
			"job", "smm-connectors", "instance", "c:9101", "connector", connector)
	}
	connectorLatency = firing("alertname", "SMM_ConnectorHighLatency", "severity", "warning", "service", "smm-connectors",
		"job", "smm-connectors", "instance", "c:9101", "connector", "twitter")
	connectorRateLimited = firing("alertname", "SMM_ConnectorRateLimited", "severity", "warning", "service", "smm-connectors",
		"job", "smm-connectors", "instance", "c:9101", "connector", "twitter")
	tokenExpiry = firing("alertname", "SMM_ConnectorTokenExpiry", "severity", "warning", "service", "smm-connectors",
		"job", "smm-connectors", "instance", "c:9101", "connector", "twitter", "account", "acme")
	budget = func(name, severity, campaign string) model.LabelSet {
		return firing("alertname", name, "severity", severity, "service", "smm-budget",
			"job", "smm-budget", "instance", "b:9103", "workspace", "acme", "campaign", campaign)
	}
	dbDown = firing("alertname", "SMM_DatabaseConnectionFailure", "severity", "critical", "service", "postgres",
		"job", "postgres", "instance", "p:9108")
	agentFailures = firing("alertname", "SMM_AgentHighFailureRate", "severity", "warning", "service", "smm-agents",
		"job", "smm-agents", "instance", "a:9102", "agent", "copywriter")
	agentQueue = firing("alertname", "SMM_AgentQueueBacklog", "severity", "warning", "service", "smm-agents",
		"job", "smm-agents", "instance", "a:9102", "agent", "copywriter")
	targetDown = func(job, instance string) model.LabelSet {
		return firing("alertname", "TargetDown", "severity", "warning", "service", job,
			"job", job, "instance", instance, "target_down", "true")
	}
	vaultDown = firing("alertname", "SMM_VaultConnectionFailure", "severity", "critical", "service", "vault",
		"job", "vault", "instance", "v:9110", "target_down", "true")
	canaryFailure = firing("alertname", "SMM_CanaryDeploymentFailure", "severity", "critical", "service", "smm-canary",
		"job", "smm-canary", "instance", "k:9105", "deployment", "captioner-v7")
	canaryDrift = func(deployment string) model.LabelSet {
		return firing("alertname", "SMM_CanaryModelDrift", "severity", "warning", "service", "smm-canary",
			"job", "smm-canary", "instance", "k:9105", "deployment", deployment, "model", "caption-large")
	}
	ownDisk = firing("alertname", "OwnDiskNearlyFull", "severity", "critical", "service", "smm-appliance",
		"job", "smm-appliance", "instance", "self:9090", "path", "/data")
	configReload = firing("alertname", "ConfigReloadFailed", "severity", "warning", "service", "smm-appliance",
		"job", "smm-appliance", "instance", "self:9090")
)

// TestInhibition runs the shipped inhibition rules through Alertmanager's own
// inhibitor: with the source alerts firing, is the target muted?
func TestInhibition(t *testing.T) {
	cfg := loadAlertmanager(t, testEnv)
	cases := []struct {
		name    string
		sources []model.LabelSet
		target  model.LabelSet
		muted   bool
	}{
		{"connector down mutes its error rate", []model.LabelSet{connectorDown}, connectorErrors("twitter"), true},
		{"connector down mutes its latency", []model.LabelSet{connectorDown}, connectorLatency, true},
		{"connector down mutes its rate limiting", []model.LabelSet{connectorDown}, connectorRateLimited, true},
		{"connector down leaves other connectors", []model.LabelSet{connectorDown}, connectorErrors("linkedin"), false},
		{"connector down leaves token expiry audible", []model.LabelSet{connectorDown}, tokenExpiry, false},
		{"connectors target down mutes every connector's warnings", []model.LabelSet{connectorsTargetDown}, connectorErrors("linkedin"), true},
		{"connectors target down mutes token expiry too", []model.LabelSet{connectorsTargetDown}, tokenExpiry, true},
		{"connectors target down mutes TargetDown of that target", []model.LabelSet{connectorsTargetDown}, targetDown("smm-connectors", "c:9101"), true},
		{"TargetDown does not mute the connector page", []model.LabelSet{targetDown("smm-connectors", "c:9101")}, connectorsTargetDown, false},
		{"overspend mutes the threshold warning", []model.LabelSet{budget("SMM_BudgetCriticalOverspend", "critical", "spring")},
			budget("SMM_BudgetThresholdExceeded", "warning", "spring"), true},
		{"overspend mutes the campaign's burn rate", []model.LabelSet{budget("SMM_BudgetCriticalOverspend", "critical", "spring")},
			budget("SMM_BudgetBurnRateHigh", "warning", "spring"), true},
		{"overspend leaves other campaigns", []model.LabelSet{budget("SMM_BudgetCriticalOverspend", "critical", "spring")},
			budget("SMM_BudgetThresholdExceeded", "warning", "summer"), false},
		{"threshold never mutes overspend", []model.LabelSet{budget("SMM_BudgetThresholdExceeded", "warning", "spring")},
			budget("SMM_BudgetCriticalOverspend", "critical", "spring"), false},
		{"database down mutes agent failure rates", []model.LabelSet{dbDown}, agentFailures, true},
		{"database down leaves agent backlogs", []model.LabelSet{dbDown}, agentQueue, false},
		{"budget target down mutes budget warnings", []model.LabelSet{targetDown("smm-budget", "b:9103")},
			budget("SMM_BudgetBurnRateHigh", "warning", "spring"), true},
		{"budget target down mutes what its metrics computed, critical too", []model.LabelSet{targetDown("smm-budget", "b:9103")},
			budget("SMM_BudgetCriticalOverspend", "critical", "spring"), true},
		{"a target down leaves other targets", []model.LabelSet{targetDown("smm-budget", "b:9999")},
			budget("SMM_BudgetBurnRateHigh", "warning", "spring"), false},
		{"vault down mutes its TargetDown", []model.LabelSet{vaultDown}, targetDown("vault", "v:9110"), true},
		{"vault TargetDown does not mute the vault page", []model.LabelSet{targetDown("vault", "v:9110")}, vaultDown, false},
		{"canary failure mutes the deployment's model warnings", []model.LabelSet{canaryFailure}, canaryDrift("captioner-v7"), true},
		{"canary failure leaves other deployments", []model.LabelSet{canaryFailure}, canaryDrift("ranker-v3"), false},
		{"own disk full leaves the config reload warning", []model.LabelSet{ownDisk}, configReload, false},
		{"nothing firing mutes nothing", nil, connectorErrors("twitter"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.muted, mutes(t, cfg.InhibitRules, c.sources, c.target))
		})
	}
}

// mutes reports whether Alertmanager's inhibitor, with sources firing, mutes target.
func mutes(t *testing.T, rules []amcommoncfg.InhibitRule, sources []model.LabelSet, target model.LabelSet) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	provider, err := mem.NewAlerts(ctx, time.Hour, 0, nil, logger, eventrecorder.NopRecorder(), nil, nil)
	require.NoError(t, err)
	defer provider.Close()

	now := time.Now()
	for _, ls := range sources {
		a := alert.New(model.Alert{Labels: ls, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)}, now, false)
		require.NoError(t, provider.Put(ctx, a))
	}
	ih := inhibit.NewInhibitor(provider, rules, logger, eventrecorder.NopRecorder())
	done := make(chan struct{})
	go func() { ih.Run(); close(done) }()
	defer func() { ih.Stop(); <-done }()
	ih.WaitForLoading()
	return ih.Mutes(ctx, labelset.FromModel(target))
}
