package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/prometheus/alertmanager/alert"
	amconfig "github.com/prometheus/alertmanager/config"
	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/template"
)

// What a person received: the notification history keeps, per attempt, the
// channel it went to (a Slack channel, an address, never a URL or key) and
// the message rendered with the receiver's own templates, so "what did
// on-call see at 03:12?" has an answer. Rendering happens beside the send,
// with the same template data; secrets of the receiver's configuration are
// replaced by <secret> wherever a template printed them.

// maxMessage bounds one rendered message in the history.
const maxMessage = 4 << 10

// renderer renders one integration's channel and message for alerts.
type renderer func(ctx context.Context, alerts []*alert.Alert) (channel, message string)

// renderers returns, per integration name and index ("slack/0"), how to
// render what it sends. A kind without a renderer records its name only.
func renderers(rcv amconfig.Receiver, tmpl *template.Template, logger *slog.Logger) map[string]renderer {
	secrets := secretsOf(rcv)
	out := map[string]renderer{}
	add := func(name string, i int, f func(text func(string) string, data *template.Data) (string, string)) {
		out[fmt.Sprintf("%s/%d", name, i)] = func(ctx context.Context, alerts []*alert.Alert) (string, string) {
			data := notify.GetTemplateData(ctx, tmpl, alerts, logger)
			var err error
			ch, msg := f(notify.TmplText(tmpl, data, &err), data)
			if err != nil {
				msg = strings.TrimSpace(msg + "\n(template error: " + err.Error() + ")")
			}
			return redact(ch, secrets), clip(redact(msg, secrets))
		}
	}
	for i, c := range rcv.SlackConfigs {
		add("slack", i, func(text func(string) string, _ *template.Data) (string, string) {
			return "Slack " + text(c.Channel), joinNonEmpty(text(c.Title), text(c.Pretext), text(c.Text), text(c.MessageText))
		})
	}
	for i, c := range rcv.EmailConfigs {
		add("email", i, func(text func(string) string, _ *template.Data) (string, string) {
			body := text(c.Text)
			if body == "" && c.HTML != "" {
				body = "(HTML body from the email template)"
			}
			subject := `{{ template "email.default.subject" . }}` // as the email notifier defaults it
			for k, v := range c.Headers {
				if strings.EqualFold(k, "Subject") {
					subject = v
				}
			}
			return "email to " + text(c.To), joinNonEmpty("Subject: "+text(subject), body)
		})
	}
	for i, c := range rcv.PagerdutyConfigs {
		add("pagerduty", i, func(text func(string) string, _ *template.Data) (string, string) {
			return "PagerDuty", text(c.Description)
		})
	}
	for i, c := range rcv.MSTeamsConfigs {
		add("msteams", i, func(text func(string) string, _ *template.Data) (string, string) {
			return "Microsoft Teams", joinNonEmpty(text(c.Title), text(c.Text))
		})
	}
	for i := range rcv.WebhookConfigs {
		add("webhook", i, func(_ func(string) string, data *template.Data) (string, string) {
			// The webhook's body is the template data as JSON.
			b, err := json.Marshal(struct {
				*template.Data
				Version string `json:"version"`
			}{data, "4"})
			if err != nil {
				return "webhook", err.Error()
			}
			return "webhook", string(b)
		})
	}
	{
		// The log fallback (lognotifier.go) writes these lines.
		out[LogIntegration+"/0"] = func(ctx context.Context, alerts []*alert.Alert) (string, string) {
			lines := make([]string, 0, len(alerts))
			for _, a := range alerts {
				lines = append(lines, fmt.Sprintf("%s %s: %s", a.Status(), a.Name(), strings.TrimSpace(string(a.Annotations["summary"]))))
			}
			return "appliance log only (no channel has its secret set)", clip(redact(strings.Join(lines, "\n"), secrets))
		}
	}
	return out
}

func joinNonEmpty(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && p != "Subject:" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "\n\n")
}

func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n… (truncated)"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "<secret>")
	}
	return s
}

// secretsOf collects the secret values of a receiver's configuration (every
// Secret-typed string and SecretURL, at any depth), to keep them out of the
// recorded messages.
func secretsOf(rcv amconfig.Receiver) []string {
	var out []string
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			if u, ok := v.Interface().(*amcommoncfg.SecretURL); ok {
				if u.URL != nil {
					out = append(out, u.URL.String())
				}
				return
			}
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		case reflect.String:
			if strings.HasPrefix(v.Type().Name(), "Secret") && len(v.String()) >= 4 {
				out = append(out, v.String())
			}
		}
	}
	walk(reflect.ValueOf(rcv))
	return out
}
