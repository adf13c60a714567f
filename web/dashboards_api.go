package web

import (
	"fmt"
	"net/http"

	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// WithDashboards adds GET /api/v1/appliance/dashboards and
// /api/v1/appliance/dashboards/{uid} to the appliance API next: the
// dashboards of the configuration in force (current, swapped by a reload).
func WithDashboards(next http.Handler, current func() []*dashboards.Dashboard) http.Handler {
	api := dashboardsAPI{current: current}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/appliance/dashboards", api.list)
	mux.HandleFunc("GET /api/v1/appliance/dashboards/{uid}", api.get)
	mux.Handle("/", next)
	return mux
}

type dashboardsAPI struct {
	current func() []*dashboards.Dashboard
}

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

// list serves GET /api/v1/appliance/dashboards: the dashboards
// in force, in file order.
func (a dashboardsAPI) list(w http.ResponseWriter, _ *http.Request) {
	out := []dashboardSummary{}
	for _, d := range a.current() {
		s := dashboardSummary{UID: d.UID, Title: d.Title, Description: d.Description, Tags: d.Tags, File: d.File, Origin: d.Origin, Panels: len(d.Panels), Alerts: []string{}}
		for _, al := range d.Alerts {
			s.Alerts = append(s.Alerts, al.Name)
		}
		out = append(out, s)
	}
	writeAPI(w, http.StatusOK, out, nil)
}

// get serves GET /api/v1/appliance/dashboards/{uid}: one
// dashboard with its panels, variables and the alerts that link to it.
func (a dashboardsAPI) get(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	for _, d := range a.current() {
		if d.UID == uid {
			writeAPI(w, http.StatusOK, d, nil)
			return
		}
	}
	writeAPI(w, http.StatusNotFound, nil, fmt.Errorf("no dashboard %q", uid))
}
