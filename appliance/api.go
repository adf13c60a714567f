package appliance

import (
	"go.yaml.in/yaml/v2"
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
