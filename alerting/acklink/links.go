package acklink

import (
	"crypto/sha256"
	"fmt"
	htmltmpl "html/template"
	"net/url"
	"strings"
	"sync/atomic"
	texttmpl "text/template"
	"time"

	"github.com/prometheus/alertmanager/template"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Config is the `acknowledge` section of appliance.yml.
type Config struct {
	// OneClickLinks makes the links in messages carry a signed capability:
	// whoever has the message can acknowledge its alerts without logging
	// in, recorded as "via link from <receiver>". Off: the link page asks
	// for a login, and the ack is the logged-in user's.
	OneClickLinks bool `yaml:"one_click_links"`
	// LinkExpiry is how long a one-click link works (default 24h).
	LinkExpiry model.Duration `yaml:"link_expiry,omitempty"`
	// PagerDutyWebhookSecret turns on /api/v1/appliance/webhooks/pagerduty.
	PagerDutyWebhookSecret commoncfg.Secret `yaml:"pagerduty_webhook_secret,omitempty"`
	// SlackSigningSecret turns on /api/v1/appliance/webhooks/slack.
	SlackSigningSecret commoncfg.Secret `yaml:"slack_signing_secret,omitempty"`
}

// DefaultLinkExpiry is how long a one-click link works unless configured.
const DefaultLinkExpiry = 24 * time.Hour

// Expiry is the configured link expiry, or the default.
func (c Config) Expiry() time.Duration {
	if c.LinkExpiry <= 0 {
		return DefaultLinkExpiry
	}
	return time.Duration(c.LinkExpiry)
}

// Paths of the link pages on the web listener.
const (
	PathLogin = "/ack"      // needs a login (viewer to see, operator to ack)
	PathLink  = "/ack/link" // needs a valid capability instead
)

// SnoozeLink is the snooze the messages' "Snooze 1 h" link asks for.
const SnoozeLink = time.Hour

// Links builds the URLs of the links in messages.
type Links struct {
	Keys     *Keyring
	External *url.URL
	Now      func() time.Time
	cfg      atomic.Pointer[Config]
}

// ApplyConfig sets the settings (reload path).
func (l *Links) ApplyConfig(c Config) { l.cfg.Store(&c) }

// Config returns the settings in force.
func (l *Links) Config() Config {
	if c := l.cfg.Load(); c != nil {
		return *c
	}
	return Config{}
}

// Target is what a link names: the receiver the message went to and the
// firing alerts of that notification.
type Target struct {
	Receiver     string
	Fingerprints []string
}

// Query encodes t (and an optional snooze) as the link's query.
func (t Target) Query(snooze time.Duration) url.Values {
	q := url.Values{"r": {t.Receiver}, "a": {strings.Join(t.Fingerprints, ".")}}
	if snooze > 0 {
		q.Set("snooze", model.Duration(snooze).String())
	}
	return q
}

// ParseTarget reads a link's query.
func ParseTarget(q url.Values) (Target, error) {
	t := Target{Receiver: q.Get("r")}
	for _, fp := range strings.Split(q.Get("a"), ".") {
		if fp == "" {
			continue
		}
		if _, err := model.ParseFingerprint(fp); err != nil {
			return Target{}, fmt.Errorf("alert %q is not a fingerprint", fp)
		}
		t.Fingerprints = append(t.Fingerprints, fp)
	}
	if len(t.Fingerprints) == 0 {
		return Target{}, fmt.Errorf("the link names no alerts (a=)")
	}
	if len(t.Fingerprints) > MaxLinkAlerts {
		return Target{}, fmt.Errorf("the link names %d alerts, at most %d", len(t.Fingerprints), MaxLinkAlerts)
	}
	return t, nil
}

// MaxLinkAlerts bounds the alerts one link names, so that a message stays
// bounded (17 characters per alert in every link). links.tmpl leaves the
// ack links out of notifications with more firing alerts (the console link
// stays).
const MaxLinkAlerts = 50

// URL is the link for t: action "ack" or "snooze". One-click links carry a
// capability and point at PathLink; others point at PathLogin.
func (l *Links) URL(action string, t Target) string {
	var snooze time.Duration
	if action == "snooze" {
		snooze = SnoozeLink
	}
	q := t.Query(snooze)
	path := PathLogin
	if c := l.Config(); c.OneClickLinks && l.Keys != nil {
		path = PathLink
		q.Set("cap", l.Keys.Sign(t.Receiver, t.Fingerprints, l.Now().Add(c.Expiry())))
	}
	return strings.TrimSuffix(l.External.String(), "/") + path + "?" + q.Encode()
}

// TemplateOverlay replaces links.tmpl's plain link templates with ones the
// appliance signs (smmAckURL). It is parsed after the configured templates,
// by the appliance only: amtool and `smm-appliance render` know no
// smmAckURL and keep links.tmpl's unsigned links.
const TemplateOverlay = `{{ define "smm.links.ack_url" }}{{ smmAckURL . "ack" }}{{ end }}` +
	`{{ define "smm.links.snooze_url" }}{{ smmAckURL . "snooze" }}{{ end }}`

// TemplateOption registers smmAckURL with the notification templates.
func (l *Links) TemplateOption() template.Option {
	f := func(d any, action string) string {
		data, ok := d.(*template.Data)
		if !ok {
			if v, ok2 := d.(template.Data); ok2 {
				data, ok = &v, true
			}
		}
		if !ok {
			return ""
		}
		t := Target{Receiver: data.Receiver}
		for _, a := range data.Alerts.Firing() {
			t.Fingerprints = append(t.Fingerprints, a.Fingerprint)
		}
		return l.URL(action, t)
	}
	return func(text *texttmpl.Template, html *htmltmpl.Template) {
		text.Funcs(texttmpl.FuncMap{"smmAckURL": f})
		html.Funcs(htmltmpl.FuncMap{"smmAckURL": f})
	}
}

// DedupKey is the dedup key Alertmanager's PagerDuty integration sends for
// a group (notify.Key.Hash: hex SHA-256 of the group key).
func DedupKey(groupKey string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(groupKey)))
}
