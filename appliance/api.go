package appliance

import (
	"go.yaml.in/yaml/v2"

	"github.com/smm-architect/smm-appliance/alerting/escalation"
)

func yamlUnmarshal(text string, v any) error { return yaml.UnmarshalStrict([]byte(text), v) }

// status is GET /api/v1/appliance/status: which files are in force, the
// last reload, and which notification channels are disabled.
func (a *Appliance) status() map[string]any {
	set := a.reloads.Current()
	ok, at := a.reloads.Last()
	resp := map[string]any{"reloadSuccessful": ok, "lastReload": at, "webTLS": a.web.TLSStatus()}
	if e := a.reloads.LastError(); e != nil {
		resp["lastReloadError"] = e
	}
	if set != nil {
		resp["prometheusConfig"] = set.PrometheusPath
		resp["alertmanagerConfig"] = set.AlertmanagerPath
		resp["applianceConfig"] = set.AppliancePath
		resp["ruleFiles"] = set.RuleFiles
		resp["files"] = set.Files
		resp["disabledRuleGroups"] = set.DisabledGroups
		resp["channels"] = set.Channels
		resp["escalation"] = escalationStatus(set.Appliance.Escalation)
	}
	return resp
}

// escalationStatus is the escalation policy in the API's camelCase.
func escalationStatus(p escalation.Policy) map[string]any {
	steps := make([]map[string]any, 0, len(p.Steps))
	for _, s := range p.Steps {
		var matchers []string
		for _, m := range s.Matchers {
			matchers = append(matchers, m.String())
		}
		steps = append(steps, map[string]any{"after": s.After.String(), "matchers": matchers, "receiver": s.Receiver})
	}
	return map[string]any{"checkInterval": p.CheckInterval.String(), "steps": steps}
}
