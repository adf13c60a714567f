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

// CheckSet runs the checks a loaded configuration must pass beyond the
// loader's own, the ones the reload path runs before any part sees it, so
// that `check config` refuses what a start or reload would refuse.
func CheckSet(set *configfiles.Set) error { return checkEscalationRoutes(set) }

// checkEscalationRoutes refuses a configuration whose alertmanager.yml
// would not deliver an escalation step to the step's receiver. The engine
// only labels copies (escalated="true", escalation_chain="c",
// escalation_step="n"); the route tree delivers them, so a missing route
// would otherwise send escalations to the team receivers, silently.
func checkEscalationRoutes(set *configfiles.Set) error {
	routes := dispatch.NewRoute(set.Alertmanager.Route, nil)
	for _, ch := range set.Appliance.Escalation.Chains {
		for i, step := range ch.Steps {
			// A copy carries the alert's labels: those the chain's (and,
			// in the flat format, the step's) equality matchers fix.
			ls := model.LabelSet{
				model.AlertNameLabel:      "SMMEscalationCheck",
				escalation.LabelEscalated: "true",
				escalation.LabelChain:     model.LabelValue(ch.Name),
				escalation.LabelStep:      model.LabelValue(strconv.Itoa(i + 1)),
			}
			for _, m := range append(slices.Clone(ch.Matchers), step.Matchers...) {
				if m.Type == labels.MatchEqual {
					ls[model.LabelName(m.Name)] = model.LabelValue(m.Value)
				}
			}
			var got []string
			for _, r := range routes.Match(ls) {
				got = append(got, r.RouteOpts.Receiver)
			}
			if !slices.Contains(got, step.Receiver) {
				return fmt.Errorf("%s: escalation chain %q step %d sends to receiver %q, but %s routes its copies (labels escalated=\"true\", escalation_chain=%q, escalation_step=\"%d\") to %v; add a route for them",
					set.AppliancePath, ch.Name, i+1, step.Receiver, set.AlertmanagerPath, ch.Name, i+1, got)
			}
		}
	}
	return nil
}

// escalationStatus is the escalation policy in the API's camelCase: the
// chains in the order they are tried, and every step in one list as
// earlier versions had it.
func escalationStatus(p escalation.Policy) map[string]any {
	strs := func(ms []*labels.Matcher) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.String())
		}
		return out
	}
	chains := make([]map[string]any, 0, len(p.Chains))
	// flat is the list of steps earlier versions answered (one list, each
	// step with the matchers that select its alerts), kept for the API's
	// existing readers.
	flat := []map[string]any{}
	for _, c := range p.Chains {
		steps := make([]map[string]any, 0, len(c.Steps))
		for i, s := range c.Steps {
			st := map[string]any{"step": i + 1, "after": s.After.String(), "receiver": s.Receiver}
			if len(s.Matchers) > 0 {
				st["matchers"] = strs(s.Matchers)
			}
			steps = append(steps, st)
			flat = append(flat, map[string]any{"chain": c.Name, "step": i + 1, "after": s.After.String(), "receiver": s.Receiver,
				"matchers": strs(append(slices.Clone(c.Matchers), s.Matchers...))})
		}
		chains = append(chains, map[string]any{"name": c.Name, "matchers": strs(c.Matchers), "steps": steps})
	}
	return map[string]any{"checkInterval": p.CheckInterval.String(), "chains": chains, "steps": flat}
}
