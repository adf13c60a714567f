package appliance

import (
	"net/http"

	"go.yaml.in/yaml/v2"

	"github.com/smm-architect/smm-appliance/web"
)

func yamlUnmarshal(text string, v any) error { return yaml.UnmarshalStrict([]byte(text), v) }

// serveApplianceAPI answers /api/v1/appliance/: what is configured and which
// notification channels are disabled for lack of a secret.
func (a *Appliance) serveApplianceAPI(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v1/appliance/status":
		set := a.reloads.Current()
		ok, at := a.reloads.Last()
		resp := map[string]any{"reloadSuccessful": ok, "lastReload": at}
		if set != nil {
			resp["prometheusConfig"] = set.PrometheusPath
			resp["alertmanagerConfig"] = set.AlertmanagerPath
			resp["ruleFiles"] = set.RuleFiles
			resp["channels"] = set.Channels
		}
		web.WriteJSON(w, map[string]any{"status": "success", "data": resp})
	default:
		http.NotFound(w, r)
	}
}
