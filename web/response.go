package web

import (
	"encoding/json"
	"net/http"
)

// apiResponse is the envelope of every JSON answer the web layer writes
// itself (the appliance API, the Alertmanager v1 reads), Prometheus' format.
type apiResponse struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

// writeAPI writes data, or err with code (500 when code says 200).
func writeAPI(w http.ResponseWriter, code int, data any, err error) {
	w.Header().Set("Content-Type", "application/json")
	resp := apiResponse{Status: "success", Data: data}
	if err != nil {
		if code == http.StatusOK {
			code = http.StatusInternalServerError
		}
		resp = apiResponse{Status: "error", ErrorType: "bad_data", Error: err.Error()}
		if code >= 500 {
			resp.ErrorType = "internal"
		}
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}
