package configfiles

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
)

// SecretVariables are the variables README.md ("Secrets") and
// configs/README.md classify as secrets of the shipped alertmanager.yml.
// Alertmanager redacts only the fields it types as secrets (URLs of Slack,
// Teams, webhooks; keys; passwords); the mail relay, its user and the sender
// are plain strings to it, so the appliance redacts their values in the
// configuration dumps itself. PAGERDUTY_URL is not among them: it names the
// public Events API endpoint (or a proxy) and is shown.
var SecretVariables = []string{
	"SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "PAGERDUTY_INTEGRATION_KEY",
	"SLACK_WEBHOOK_URL_PLATFORM", "SLACK_WEBHOOK_URL_CONNECTOR", "SLACK_WEBHOOK_URL_AGENT", "SLACK_WEBHOOK_URL_ML",
	"SLACK_WEBHOOK_URL_FINANCE", "SLACK_WEBHOOK_URL_DATABASE", "SLACK_WEBHOOK_URL_SECURITY", "SLACK_WEBHOOK_URL_BUSINESS",
	"SMTP_SMARTHOST", "SMTP_FROM", "SMTP_USERNAME", "SMTP_PASSWORD",
	"TEAMS_WEBHOOK_URL", "WATCHDOG_WEBHOOK_URL",
}

// RedactDump replaces, in a YAML configuration dump, every value that is
// the value of a secret variable with <secret>, and a longer secret
// anywhere inside a value as well.
func (s *Set) RedactDump(text string) string {
	if s == nil || len(s.dumpSecrets) == 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			if t := strings.TrimLeft(line, " "); strings.HasPrefix(t, "- ") {
				key, val, ok = line[:len(line)-len(t)+2], t[2:], true
			}
		}
		if !ok {
			continue
		}
		v := strings.TrimSpace(val)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if slices.Contains(s.dumpSecrets, v) {
			sep := ": "
			if strings.HasSuffix(key, "- ") {
				sep = ""
			}
			lines[i] = key + sep + "<secret>"
		}
	}
	var long []string
	for _, v := range s.dumpSecrets {
		if len(v) >= 6 {
			long = append(long, v)
		}
	}
	return Scrub(strings.Join(lines, "\n"), long)
}

// RedactStatus wraps the Alertmanager API so that its configuration dump,
// GET /api/v2/status (which the v1 status and the appliance read as well),
// goes through RedactDump of the configuration in force.
func RedactStatus(next http.Handler, current func() *Set) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimRight(path.Clean("/"+r.URL.Path), "/")
		if !strings.EqualFold(r.Method, http.MethodGet) || !strings.HasSuffix(strings.ToLower(p), "/api/v2/status") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var status map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &status) == nil {
			if cfg, ok := status["config"].(map[string]any); ok {
				if orig, ok := cfg["original"].(string); ok {
					cfg["original"] = current().RedactDump(orig)
					var buf bytes.Buffer
					if json.NewEncoder(&buf).Encode(status) == nil {
						body = buf.Bytes()
					}
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}
