package web

import (
	"fmt"
	"net/http"

	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// dashboardSummary is a dashboard as the list shows it.
type dashboardSummary struct {
	UID         string   `json:"uid"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	File        string   `json:"file"`
	Origin      string   `json:"origin"`
	Panels      int      `json:"panels"`
	Alerts      []string `json:"alerts"` // the alerting rules that link to it
}

// listDashboards serves GET /api/v1/appliance/dashboards: the dashboards
// in force, in file order.
func (a *ApplianceAPI) listDashboards(w http.ResponseWriter, _ *http.Request) {
	out := []dashboardSummary{}
	for _, d := range a.dashboards() {
		s := dashboardSummary{UID: d.UID, Title: d.Title, Description: d.Description, Tags: d.Tags, File: d.File, Origin: d.Origin, Panels: len(d.Panels), Alerts: []string{}}
		for _, al := range d.Alerts {
			s.Alerts = append(s.Alerts, al.Name)
		}
		out = append(out, s)
	}
	writeAPI(w, http.StatusOK, out, nil)
}

// getDashboard serves GET /api/v1/appliance/dashboards/{uid}: one
// dashboard with its panels, variables and the alerts that link to it.
func (a *ApplianceAPI) getDashboard(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	for _, d := range a.dashboards() {
		if d.UID == uid {
			writeAPI(w, http.StatusOK, d, nil)
			return
		}
	}
	writeAPI(w, http.StatusNotFound, nil, fmt.Errorf("no dashboard %q", uid))
}

func (a *ApplianceAPI) dashboards() []*dashboards.Dashboard {
	if a.Dashboards == nil {
		return nil
	}
	return a.Dashboards()
}
