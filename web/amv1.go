package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
)

// alertmanagerV1 answers the two Alertmanager v1 reads that operators'
// runbooks still call (`GET /api/v1/alerts`, `GET /api/v1/status`; removed
// upstream in 0.27) by reshaping the v2 answers of the embedded Alertmanager,
// so both versions always agree.
type alertmanagerV1 struct {
	v2 http.Handler
}

func (a alertmanagerV1) getV2(r *http.Request, path string, into any) (int, error) {
	req := r.Clone(r.Context())
	req.URL.Path = path
	req.RequestURI = ""
	rec := httptest.NewRecorder()
	a.v2.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, errorString(rec.Body.String())
	}
	return http.StatusOK, json.Unmarshal(rec.Body.Bytes(), into)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// v1Alert is the alert shape of Alertmanager's v1 API.
type v1Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
	Receivers   []string `json:"receivers"`
	Fingerprint string   `json:"fingerprint"`
}

func (a alertmanagerV1) alerts(w http.ResponseWriter, r *http.Request) {
	var v2 []struct {
		v1Alert
		Receivers []struct {
			Name string `json:"name"`
		} `json:"receivers"`
	}
	// Query parameters (filter, silenced, inhibited, active) mean the same
	// in both versions and pass through.
	code, err := a.getV2(r, "/api/v2/alerts", &v2)
	if err != nil {
		writeAPI(w, code, nil, err)
		return
	}
	out := make([]v1Alert, 0, len(v2))
	for _, al := range v2 {
		v1 := al.v1Alert
		v1.Receivers = make([]string, 0, len(al.Receivers))
		for _, rc := range al.Receivers {
			v1.Receivers = append(v1.Receivers, rc.Name)
		}
		if v1.Status.SilencedBy == nil {
			v1.Status.SilencedBy = []string{}
		}
		if v1.Status.InhibitedBy == nil {
			v1.Status.InhibitedBy = []string{}
		}
		out = append(out, v1)
	}
	writeAPI(w, http.StatusOK, out, nil)
}

func (a alertmanagerV1) status(w http.ResponseWriter, r *http.Request) {
	var v2 struct {
		Cluster     json.RawMessage           `json:"cluster"`
		Config      struct{ Original string } `json:"config"`
		Uptime      string                    `json:"uptime"`
		VersionInfo json.RawMessage           `json:"versionInfo"`
	}
	code, err := a.getV2(r, "/api/v2/status", &v2)
	if err != nil {
		writeAPI(w, code, nil, err)
		return
	}
	writeAPI(w, http.StatusOK, map[string]any{
		"configYAML":    v2.Config.Original,
		"versionInfo":   v2.VersionInfo,
		"uptime":        v2.Uptime,
		"clusterStatus": v2.Cluster,
	}, nil)
}

func (a alertmanagerV1) register(mux *http.ServeMux, prefix string) {
	mux.HandleFunc("GET "+prefix+"/api/v1/alerts", a.alerts)
	mux.HandleFunc("GET "+prefix+"/api/v1/status", a.status)
}
