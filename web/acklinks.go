package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/acklink"
	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/console"
	"github.com/smm-architect/smm-appliance/storage/persist"
	"github.com/smm-architect/smm-appliance/web/auth"
)

// AckLinks serves what acknowledges from outside the console: the pages
// the links in messages open (/ack with a login, /ack/link with a signed
// capability) and the PagerDuty and Slack webhooks.
//
// A link's GET only shows the alerts and one button: chat unfurlers and
// mail scanners fetch every link in a message, and must not acknowledge
// anything. The button POSTs.
type AckLinks struct {
	Console *console.Console
	Links   *acklink.Links
	Logger  *slog.Logger
	// Groups returns the firing alerts of the live alert groups whose
	// group key match accepts (the embedded Alertmanager's GroupAlerts).
	Groups func(ctx context.Context, match func(groupKey string) bool) []string
}

// Pages serves /ack and /ack/link, and the webhooks and key rotation under
// /api/v1/appliance/ (web.go mounts their prefixes here).
func (l *AckLinks) Pages() http.Handler {
	mux := http.NewServeMux()
	l.register(mux)
	mux.HandleFunc("GET "+acklink.PathLogin, func(w http.ResponseWriter, r *http.Request) { l.page(w, r, false) })
	mux.HandleFunc("POST "+acklink.PathLogin, func(w http.ResponseWriter, r *http.Request) { l.confirm(w, r, false) })
	mux.HandleFunc("GET "+acklink.PathLink, func(w http.ResponseWriter, r *http.Request) { l.page(w, r, true) })
	mux.HandleFunc("POST "+acklink.PathLink, func(w http.ResponseWriter, r *http.Request) { l.confirm(w, r, true) })
	return mux
}

// linkRequest is what a link's query says, checked.
type linkRequest struct {
	target acklink.Target
	snooze time.Duration
	by     string // for capability links: "via link from <receiver>"
}

// parse reads and checks the link; for a capability link it verifies the
// capability (it is the only credential).
func (l *AckLinks) parse(r *http.Request, capability bool) (linkRequest, int, error) {
	q := r.URL.Query()
	t, err := acklink.ParseTarget(q)
	if err != nil {
		return linkRequest{}, http.StatusBadRequest, err
	}
	req := linkRequest{target: t}
	if s := q.Get("snooze"); s != "" {
		d, err := model.ParseDuration(s)
		if err != nil || time.Duration(d) < console.MinSnooze || time.Duration(d) > console.MaxSnooze {
			return linkRequest{}, http.StatusBadRequest, fmt.Errorf("snooze %q: want a duration from %s to %s", s, console.MinSnooze, console.MaxSnooze)
		}
		req.snooze = time.Duration(d)
	}
	if capability {
		if !l.Links.Config().OneClickLinks {
			return linkRequest{}, http.StatusNotFound, errors.New("one-click links are off on this appliance (acknowledge.one_click_links in appliance.yml); use the console")
		}
		if err := l.Links.Keys.Verify(q.Get("cap"), t.Receiver, t.Fingerprints, time.Now()); err != nil {
			return linkRequest{}, http.StatusForbidden, err
		}
		// The capability covers the alerts and the receiver; of the
		// snoozes only the message's own (Snooze 1 h) goes with it, so an
		// edited link cannot turn an ack into a one-second snooze.
		if req.snooze != 0 && req.snooze != acklink.SnoozeLink {
			return linkRequest{}, http.StatusForbidden, fmt.Errorf("%w: a one-click link snoozes for %s only", acklink.ErrCapability, model.Duration(acklink.SnoozeLink))
		}
		req.by = "via link from " + t.Receiver
	}
	return req, 0, nil
}

// pageAlert is one alert the page lists.
type pageAlert struct {
	Fingerprint, Name, Severity, Team, Summary, State string
	AckedBy                                           string
	Firing                                            bool
}

func (l *AckLinks) alertsOf(r *http.Request, fps []string) []pageAlert {
	current := map[string]console.Alert{}
	for _, a := range l.Console.Alerts(r.Context()) {
		current[a.Fingerprint] = a
	}
	out := make([]pageAlert, 0, len(fps))
	for _, fp := range fps {
		a, ok := current[fp]
		if !ok {
			out = append(out, pageAlert{Fingerprint: fp, State: "resolved or no longer known"})
			continue
		}
		pa := pageAlert{Fingerprint: fp, Name: a.Labels["alertname"], Severity: a.Labels["severity"], Team: a.Labels["team"],
			Summary: a.Annotations["summary"], State: a.State, Firing: true}
		if a.Ack != nil && (a.Ack.Until.IsZero() || time.Now().Before(a.Ack.Until)) {
			pa.AckedBy = a.Ack.By
		}
		out = append(out, pa)
	}
	return out
}

type pageData struct {
	Action, Verb, Error, Done string
	Alerts                    []pageAlert
	Firing                    int
	Reasons                   []reasonOption
	Console                   string
}

type reasonOption struct{ Value, Label string }

var reasonLabels = map[string]string{
	acks.ReasonWorkingOn:     "Working on it",
	acks.ReasonFalsePositive: "False positive",
	acks.ReasonNotActionable: "Not actionable",
	acks.ReasonDuplicate:     "Duplicate",
}

func reasonOptions() []reasonOption {
	out := make([]reasonOption, len(acks.Reasons))
	for i, r := range acks.Reasons {
		out[i] = reasonOption{r, reasonLabels[r]}
	}
	return out
}

func (l *AckLinks) render(w http.ResponseWriter, code int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The capability is in the URL: no referrer to other sites (same-
	// origin keeps the Origin header the write check needs), no framing, nothing
	// loaded from elsewhere.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := ackPage.Execute(w, d); err != nil {
		l.Logger.Debug("render ack page", "err", err)
	}
}

func (l *AckLinks) base(r *http.Request, capability bool, req linkRequest) pageData {
	verb := "Acknowledge"
	if req.snooze > 0 {
		verb = "Snooze for " + model.Duration(req.snooze).String()
	}
	path := acklink.PathLogin
	if capability {
		path = acklink.PathLink
	}
	ext := strings.TrimSuffix(l.Links.External.Path, "/")
	return pageData{Action: ext + path + "?" + r.URL.RawQuery, Verb: verb, Reasons: reasonOptions(), Console: ext + "/#/alerts"}
}

func (l *AckLinks) page(w http.ResponseWriter, r *http.Request, capability bool) {
	req, code, err := l.parse(r, capability)
	if err != nil {
		l.render(w, code, pageData{Error: err.Error(), Console: strings.TrimSuffix(l.Links.External.Path, "/") + "/#/alerts"})
		return
	}
	d := l.base(r, capability, req)
	d.Alerts = l.alertsOf(r, req.target.Fingerprints)
	for _, a := range d.Alerts {
		if a.Firing {
			d.Firing++
		}
	}
	l.render(w, http.StatusOK, d)
}

func (l *AckLinks) confirm(w http.ResponseWriter, r *http.Request, capability bool) {
	req, code, err := l.parse(r, capability)
	if err != nil {
		l.render(w, code, pageData{Error: err.Error()})
		return
	}
	d := l.base(r, capability, req)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a reason and a comment
	if err := r.ParseForm(); err != nil {
		d.Error = err.Error()
		l.render(w, http.StatusBadRequest, d)
		return
	}
	by := req.by
	if !capability {
		id := auth.FromContext(r.Context())
		by = id.User
		if !id.Enabled || by == "" {
			// Authentication is off: anyone is admin, and names
			// themselves, as in the console.
			by = strings.TrimSpace(r.PostForm.Get("by"))
			if by == "" {
				by = "anonymous (authentication off)"
			}
		}
	}
	// The alerts of the link that still fire; the others are shown as
	// resolved, not refused.
	alerts := l.alertsOf(r, req.target.Fingerprints)
	var fps []string
	for _, a := range alerts {
		if a.Firing {
			fps = append(fps, a.Fingerprint)
		}
	}
	d.Alerts = alerts
	if len(fps) == 0 {
		d.Done = "Nothing to acknowledge: the alerts of this notification are resolved."
		l.render(w, http.StatusOK, d)
		return
	}
	ar := console.AckRequest{Fingerprints: fps, By: by, Reason: r.PostForm.Get("reason"), Comment: r.PostForm.Get("comment"), Via: acks.ViaLink}
	if req.snooze > 0 {
		ar.Until = time.Now().Add(req.snooze)
	}
	if _, err := l.Console.AckWith(r.Context(), ar); err != nil {
		d.Error = err.Error()
		code := http.StatusBadRequest
		if errors.Is(err, persist.ErrNotDurable) {
			code = http.StatusInsufficientStorage
		}
		l.render(w, code, d)
		return
	}
	d.Alerts = l.alertsOf(r, req.target.Fingerprints)
	d.Done = fmt.Sprintf("%s: %d alert(s), by %s.", d.Verb, len(fps), by)
	if req.snooze > 0 {
		d.Done = fmt.Sprintf("Snoozed %d alert(s) until %s, by %s. They notify again then if still firing.", len(fps), ar.Until.UTC().Format("15:04 MST"), by)
	}
	l.render(w, http.StatusOK, d)
}

var ackPage = template.Must(template.New("ack").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .Done }}Done{{ else }}{{ .Verb }}{{ end }} — SMM Appliance</title>
<style>
body{font-family:system-ui,Helvetica,Arial,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}
.err{color:#b00020}.done{color:#146c2e;font-weight:600}button{font-size:1.1rem;padding:.5rem 1.2rem}
fieldset{border:1px solid #ccc;margin:1rem 0}label{display:block;margin:.2rem 0}
</style></head><body>
<h1>SMM Appliance</h1>
{{ with .Error }}<p class="err" id="ack-error">{{ . }}</p>{{ end }}
{{ with .Done }}<p class="done" id="ack-done">{{ . }}</p>{{ end }}
{{ if .Alerts }}<table id="ack-alerts"><tr><th>Alert</th><th>Severity</th><th>Team</th><th>State</th></tr>
{{ range .Alerts }}<tr data-fp="{{ .Fingerprint }}"><td>{{ if .Name }}<strong>{{ .Name }}</strong><br>{{ .Summary }}{{ else }}{{ .Fingerprint }}{{ end }}</td><td>{{ .Severity }}</td><td>{{ .Team }}</td><td>{{ .State }}{{ with .AckedBy }}, acknowledged by {{ . }}{{ end }}</td></tr>
{{ end }}</table>{{ end }}
{{ if and .Firing (not .Done) }}<form method="post" action="{{ .Action }}" id="ack-form">
<fieldset><legend>What is it?</legend>
{{ range $i, $r := .Reasons }}<label><input type="radio" name="reason" value="{{ $r.Value }}"{{ if eq $i 0 }} checked{{ end }}> {{ $r.Label }}</label>
{{ end }}</fieldset>
<label>Comment (optional) <input type="text" name="comment" maxlength="500"></label>
<p><button type="submit" id="ack-confirm">{{ .Verb }} {{ .Firing }} alert(s)</button></p>
</form>{{ end }}
{{ with .Console }}<p><a href="{{ . }}">Open in console</a></p>{{ end }}
</body></html>
`))
