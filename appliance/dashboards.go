package appliance

import "github.com/smm-architect/smm-appliance/web/dashboards"

// dashboards returns the dashboards of the configuration in force; a
// reload swaps them with the rest of the set.
func (a *Appliance) dashboards() []*dashboards.Dashboard {
	if s := a.reloads.Current(); s != nil {
		return s.Dashboards
	}
	return nil
}
