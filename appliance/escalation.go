package appliance

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/escalation"
	"github.com/smm-architect/smm-appliance/appliance/configfiles"
)

// checkEscalationRoutes refuses a configuration whose alertmanager.yml
// would not deliver an escalation step to the step's receiver. The engine
// only labels copies (escalated="true", escalation_step="n"); the route
// tree delivers them, so a missing route would otherwise send escalations
// to the team receivers, silently.
func checkEscalationRoutes(set *configfiles.Set) error {
	routes := dispatch.NewRoute(set.Alertmanager.Route, nil)
	for i, step := range set.Appliance.Escalation.Steps {
		ls := model.LabelSet{
			model.AlertNameLabel:      "SMMEscalationCheck",
			escalation.LabelEscalated: "true",
			escalation.LabelStep:      model.LabelValue(strconv.Itoa(i + 1)),
		}
		for _, m := range step.Matchers {
			if m.Type == labels.MatchEqual {
				ls[model.LabelName(m.Name)] = model.LabelValue(m.Value)
			}
		}
		var got []string
		for _, r := range routes.Match(ls) {
			got = append(got, r.RouteOpts.Receiver)
		}
		if !slices.Contains(got, step.Receiver) {
			return fmt.Errorf("%s: escalation.steps[%d] sends to receiver %q, but %s routes its copies (labels escalated=\"true\", escalation_step=\"%d\") to %v; add a route for them",
				set.AppliancePath, i, step.Receiver, set.AlertmanagerPath, i+1, got)
		}
	}
	return nil
}
