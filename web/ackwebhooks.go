package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smm-architect/smm-appliance/alerting/acklink"
	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/console"
	"github.com/smm-architect/smm-appliance/alerting/history"
	"github.com/smm-architect/smm-appliance/storage/persist"
)

// Webhook paths. They are reached by PagerDuty and Slack, without a login:
// the signature over the body is the credential (auth's role table lists
// them as RoleNone, "signed by the sender").
const (
	PathPagerDutyWebhook = "/api/v1/appliance/webhooks/pagerduty"
	PathSlackWebhook     = "/api/v1/appliance/webhooks/slack"
	PathRotateLinkKey    = "/api/v1/appliance/ack-links/rotate-key"
)

// maxWebhookBody bounds a webhook's body; PagerDuty's and Slack's are a
// few kilobytes.
const maxWebhookBody = 256 << 10

func (l *AckLinks) register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathPagerDutyWebhook, l.pagerDuty)
	mux.HandleFunc("POST "+PathSlackWebhook, l.slack)
	mux.HandleFunc("POST "+PathRotateLinkKey, func(w http.ResponseWriter, _ *http.Request) {
		if err := l.Links.Keys.Rotate(); err != nil {
			writeAPI(w, http.StatusInternalServerError, nil, err)
			return
		}
		l.Logger.Info("ack link key rotated: the one-click links sent so far no longer work", "component", "acklink")
		writeAPI(w, http.StatusOK, map[string]string{"rotated": time.Now().UTC().Format(time.RFC3339)}, nil)
	})
}

// pdEvent is the part of a PagerDuty v3 webhook the appliance reads.
type pdEvent struct {
	Event struct {
		EventType string `json:"event_type"`
		Agent     *struct {
			Summary string `json:"summary"`
		} `json:"agent"`
		Data struct {
			IncidentKey string `json:"incident_key"`
			HTMLURL     string `json:"html_url"`
		} `json:"data"`
	} `json:"event"`
}

// pagerDuty takes PagerDuty's incident events: acknowledged and resolved
// acknowledge the alerts of the notification that opened the incident (a
// resolution in PagerDuty does not resolve the alert here, but it stops
// escalation), unacknowledged removes the acks PagerDuty made. The
// incident's dedup key is the hash of the notification's group key
// (Alertmanager's PagerDuty integration), mapped back through the
// notification history.
func (l *AckLinks) pagerDuty(w http.ResponseWriter, r *http.Request) {
	body, ok := l.signedBody(w, r, "PagerDuty webhook", string(l.Links.Config().PagerDutyWebhookSecret), func(secret string, body []byte) error {
		return acklink.VerifyPagerDuty(secret, r.Header.Get("X-PagerDuty-Signature"), body)
	})
	if !ok {
		return
	}
	var ev pdEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("decode PagerDuty event: %w", err))
		return
	}
	e := ev.Event
	by := "PagerDuty"
	if e.Agent != nil && e.Agent.Summary != "" {
		by = "PagerDuty: " + e.Agent.Summary
	}
	switch e.EventType {
	case "incident.acknowledged", "incident.resolved", "incident.unacknowledged":
	default:
		// PagerDuty retries what is not answered 2xx: other events are
		// taken and ignored.
		writeAPI(w, http.StatusOK, map[string]any{"ignored": e.EventType}, nil)
		return
	}
	fps, err := l.incidentAlerts(r.Context(), e.Data.IncidentKey)
	if err != nil {
		writeAPI(w, http.StatusInternalServerError, nil, err)
		return
	}
	if len(fps) == 0 {
		writeAPI(w, http.StatusOK, map[string]any{"matched": 0, "note": "no notification of this appliance has this dedup key"}, nil)
		return
	}
	if e.EventType == "incident.unacknowledged" {
		var unacked []string
		for fp, st := range l.Console.States() {
			if st.Ack == nil || st.Ack.Via != acks.ViaPagerDuty || !contains(fps, fp) {
				continue
			}
			if _, err := l.Console.Unack(r.Context(), fp, by); err == nil {
				unacked = append(unacked, fp)
			}
		}
		writeAPI(w, http.StatusOK, map[string]any{"unacked": nonNil(unacked)}, nil)
		return
	}
	comment := "acknowledged in PagerDuty"
	if e.EventType == "incident.resolved" {
		comment = "resolved in PagerDuty"
	}
	if e.Data.HTMLURL != "" {
		comment += " " + e.Data.HTMLURL
	}
	acked, code, err := l.ackFiring(r, console.AckRequest{Fingerprints: fps, By: by, Via: acks.ViaPagerDuty, Comment: comment, Reason: acks.ReasonWorkingOn})
	writeAPI(w, code, map[string]any{"acked": acked}, err)
}

// incidentAlerts returns the alerts of the PagerDuty incident whose dedup
// key is key: the firing alerts of the live alert group with that key
// (also when a cluster peer sent the notification), else those of the
// latest PagerDuty notification in the history with it.
func (l *AckLinks) incidentAlerts(ctx context.Context, key string) ([]string, error) {
	if key == "" {
		return nil, nil
	}
	if l.Groups != nil {
		if fps := l.Groups(ctx, func(gk string) bool { return acklink.DedupKey(gk) == key }); len(fps) > 0 {
			return fps, nil
		}
	}
	entries, err := l.Console.History(history.Filter{Kind: history.KindNotification, Limit: 100000})
	if err != nil {
		return nil, fmt.Errorf("read notification history: %w", err)
	}
	for _, e := range entries { // newest first
		if e.Integration != "pagerduty" || acklink.DedupKey(e.GroupKey) != key {
			continue
		}
		var fps []string
		for _, a := range e.Alerts {
			if a.Status != "resolved" {
				fps = append(fps, a.Fingerprint)
			}
		}
		return fps, nil
	}
	return nil, nil
}

// ackFiring acks those of req's alerts that still fire; it returns them,
// or the status code and error to answer.
func (l *AckLinks) ackFiring(r *http.Request, req console.AckRequest) ([]string, int, error) {
	var firing []string
	for _, a := range l.Console.Alerts(r.Context()) {
		if contains(req.Fingerprints, a.Fingerprint) {
			firing = append(firing, a.Fingerprint)
		}
	}
	if len(firing) == 0 {
		return []string{}, http.StatusOK, nil
	}
	req.Fingerprints = firing
	states, err := l.Console.AckWith(r.Context(), req)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, persist.ErrNotDurable) {
			code = http.StatusInsufficientStorage
		}
		return nil, code, err
	}
	acked := make([]string, len(states))
	for i, st := range states {
		acked[i] = st.Fingerprint
	}
	return acked, http.StatusOK, nil
}

// slackReply answers a Slack interaction with a message only the presser
// sees (the original message stays).
func slackReply(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
}

// slackPayload is the part of a Slack interaction the appliance reads:
// block_actions (Block Kit buttons) and interactive_message (attachment
// buttons, what Alertmanager's slack_configs actions make) both carry the
// button's value and the user.
type slackPayload struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Actions []struct {
		Value string `json:"value"`
	} `json:"actions"`
}

// slack takes a Slack button press: value "ack <receiver> <fp.fp…>" or
// "snooze <receiver> <fp.fp…>" (links.tmpl's smm.links.slack_value), from a
// request signed with the app's signing secret.
func (l *AckLinks) slack(w http.ResponseWriter, r *http.Request) {
	body, ok := l.signedBody(w, r, "Slack request", string(l.Links.Config().SlackSigningSecret), func(secret string, body []byte) error {
		return acklink.VerifySlack(secret, r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature"), body, time.Now())
	})
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("decode Slack request: %w", err))
		return
	}
	var p slackPayload
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		writeAPI(w, http.StatusBadRequest, nil, fmt.Errorf("decode Slack payload: %w", err))
		return
	}
	user := p.User.Username
	if user == "" {
		user = p.User.Name
	}
	if user == "" {
		user = p.User.ID
	}
	for _, a := range p.Actions {
		f := strings.Fields(a.Value)
		if len(f) != 3 || (f[0] != "ack" && f[0] != "snooze") {
			continue
		}
		t, err := acklink.ParseTarget(url.Values{"r": {f[1]}, "a": {f[2]}})
		if err != nil {
			slackReply(w, http.StatusBadRequest, err.Error())
			return
		}
		req := console.AckRequest{Fingerprints: t.Fingerprints, By: "slack:" + user, Via: acks.ViaSlack, Reason: acks.ReasonWorkingOn, Comment: "from Slack (" + t.Receiver + ")"}
		if f[0] == "snooze" {
			req.Until = time.Now().Add(acklink.SnoozeLink)
		}
		acked, code, err := l.ackFiring(r, req)
		switch {
		case err != nil:
			slackReply(w, code, "Not acknowledged: "+err.Error())
		case len(acked) == 0:
			slackReply(w, code, "Nothing to acknowledge: the alerts are resolved.")
		case f[0] == "snooze":
			slackReply(w, code, fmt.Sprintf("Snoozed %d alert(s) for %s, by %s.", len(acked), acklink.SnoozeLink, user))
		default:
			slackReply(w, code, fmt.Sprintf("Acknowledged %d alert(s), by %s.", len(acked), user))
		}
		return
	}
	slackReply(w, http.StatusOK, "No acknowledge or snooze button in this request.")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// signedBody reads the body of a webhook signed with secret and checks the
// signature with verify. It answers for the caller, and returns false,
// when the webhook is off (no secret: 404, as if it did not exist), the
// body is too large or unreadable, or the signature is wrong (401: nothing
// changes).
func (l *AckLinks) signedBody(w http.ResponseWriter, r *http.Request, what, secret string, verify func(secret string, body []byte) error) ([]byte, bool) {
	if secret == "" {
		http.NotFound(w, r)
		return nil, false
	}
	body, err := readBody(w, r, maxWebhookBody)
	if err != nil {
		writeAPI(w, statusOf(err), nil, err)
		return nil, false
	}
	if err := verify(secret, body); err != nil {
		l.Logger.Warn(what+" refused", "component", "acklink", "remote", r.RemoteAddr, "err", err)
		writeAPI(w, http.StatusUnauthorized, nil, err)
		return nil, false
	}
	return body, true
}
