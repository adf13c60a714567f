package web

import (
	"net/http"

	"github.com/smm-architect/smm-appliance/alerting/escalation"
)

// WithEscalations adds GET /api/v1/appliance/escalations to the appliance
// API next: the firing alerts on an escalation chain, with the steps done
// and the next one due (positions, the engine's Positions). The chains
// themselves are in the status' escalation block.
func WithEscalations(next http.Handler, positions func() []escalation.Position) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/appliance/escalations", func(w http.ResponseWriter, _ *http.Request) {
		writeAPI(w, http.StatusOK, positions(), nil)
	})
	mux.Handle("/", next)
	return mux
}
