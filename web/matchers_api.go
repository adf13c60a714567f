package web

import (
	"net/http"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// matcherJSON is a matcher as Alertmanager's API v2 writes it in a silence.
type matcherJSON struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// matchersAnswer is what a set of matchers means to the server: the
// matchers as Alertmanager parsed them (the silence to post), whether they
// would also select an alert without labels (a silence of everything), and
// the fingerprints of the current alerts they select.
type matchersAnswer struct {
	Matchers          []matcherJSON `json:"matchers"`
	MatchesEverything bool          `json:"matchesEverything"`
	Alerts            []string      `json:"alerts"`
	Total             int           `json:"total"`
}

// matchers answers GET /api/v1/appliance/matchers?matchers=<text>: the
// console's silence preview asks here, so that the preview uses
// Alertmanager's parser and RE2 regular expressions — (?i), \d and the
// rest — exactly as the silence will, instead of the browser's RegExp.
func (a *ApplianceAPI) matchers(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("matchers")
	ms, err := compat.Matchers(text, "web")
	if err != nil {
		writeAPI(w, http.StatusBadRequest, nil, err)
		return
	}
	out := matchersAnswer{Matchers: make([]matcherJSON, len(ms)), Alerts: []string{}}
	for i, m := range ms {
		out.Matchers[i] = matcherJSON{
			Name: m.Name, Value: m.Value,
			IsRegex: m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp,
			IsEqual: m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp,
		}
	}
	out.MatchesEverything = labels.Matchers(ms).Matches(model.LabelSet{})
	if len(ms) > 0 {
		for _, al := range a.Console.Alerts(r.Context()) {
			out.Total++
			ls := make(model.LabelSet, len(al.Labels))
			for k, v := range al.Labels {
				ls[model.LabelName(k)] = model.LabelValue(v)
			}
			if labels.Matchers(ms).Matches(ls) {
				out.Alerts = append(out.Alerts, al.Fingerprint)
			}
		}
	}
	writeAPI(w, http.StatusOK, out, nil)
}
