package simulator

import (
	"encoding/json"
	"errors"
	"net/http"
)

// controlHandler serves the control API:
//
//	GET    /jobs             job → target addresses
//	GET    /targets          the same as Prometheus file_sd target groups
//	GET    /scenarios        every scenario, with whether and on what it is active
//	POST   /scenario/{name}  activate, optionally ?target=<connector|agent|...>
//	DELETE /scenario/{name}  deactivate
//	DELETE /scenarios        deactivate all
//	GET    /-/healthy
func (s *Simulator) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string][]string{}
		for _, j := range s.Jobs() {
			out[j.Name] = j.Addresses
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /targets", func(w http.ResponseWriter, _ *http.Request) {
		type group struct {
			Targets []string          `json:"targets"`
			Labels  map[string]string `json:"labels"`
		}
		var out []group
		for _, j := range s.Jobs() {
			out = append(out, group{Targets: j.Addresses, Labels: map[string]string{"job": j.Name, "__metrics_path__": j.MetricsPath}})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /scenarios", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.ScenarioStatuses())
	})
	mux.HandleFunc("DELETE /scenarios", func(w http.ResponseWriter, _ *http.Request) {
		s.DeactivateAll()
		writeJSON(w, http.StatusOK, s.ScenarioStatuses())
	})
	mux.HandleFunc("POST /scenario/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := s.Activate(name, r.URL.Query().Get("target")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, s.status(name))
	})
	mux.HandleFunc("DELETE /scenario/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := s.Deactivate(name); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, s.status(name))
	})
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("Simulator is Healthy.\n"))
	})
	return mux
}

func (s *Simulator) status(name string) ScenarioStatus {
	for _, st := range s.ScenarioStatuses() {
		if st.Name == name {
			return st
		}
	}
	return ScenarioStatus{}
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	if errors.Is(err, ErrUnknownScenario) {
		code = http.StatusNotFound
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
