package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// secretVars are the variables the shipped alertmanager.yml takes its
// credentials and mail relay from (configs/README.md, "Secrets").
var secretVars = []string{
	"SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "PAGERDUTY_INTEGRATION_KEY",
	"SMTP_SMARTHOST", "SMTP_FROM", "SMTP_USERNAME", "SMTP_PASSWORD",
	"TEAMS_WEBHOOK_URL", "WATCHDOG_WEBHOOK_URL",
	"SLACK_WEBHOOK_URL_PLATFORM", "SLACK_WEBHOOK_URL_CONNECTOR", "SLACK_WEBHOOK_URL_AGENT", "SLACK_WEBHOOK_URL_ML",
	"SLACK_WEBHOOK_URL_FINANCE", "SLACK_WEBHOOK_URL_DATABASE", "SLACK_WEBHOOK_URL_SECURITY", "SLACK_WEBHOOK_URL_BUSINESS",
}

// channelStatus is one entry of data.channels in /api/v1/appliance/status.
type channelStatus struct {
	Receiver    string   `json:"receiver"`
	Integration string   `json:"integration"`
	Index       int      `json:"index"`
	Enabled     bool     `json:"enabled"`
	Missing     []string `json:"missingVariables"`
	ReplacedBy  string   `json:"replacedBy"`
}

// inForce is whether a channel posts: enabled, or the alternative of one that
// does (a team's webhook item when the bot token is set, and the reverse).
func (c channelStatus) inForce() bool { return c.Enabled || c.ReplacedBy != "" }

// shippedChannels lists every integration of the shipped alertmanager.yml as
// receiver/integration/index.
func shippedChannels(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../configs/alertmanager.yml")
	require.NoError(t, err)
	var cfg struct {
		Receivers []map[string]any `yaml:"receivers"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	var out []string
	for _, r := range cfg.Receivers {
		for k, v := range r {
			if items, ok := v.([]any); ok && strings.HasSuffix(k, "_configs") {
				for i := range items {
					out = append(out, r["name"].(string)+"/"+strings.TrimSuffix(k, "_configs")+"/"+strconv.Itoa(i))
				}
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestNoSecrets starts the appliance on its embedded defaults with none of
// the secret variables set: it must start and be ready, report every
// notification channel as disabled with the variables it lacks, say so in its
// log, and still evaluate rules and hand alerts to its Alertmanager (the
// Watchdog).
func TestNoSecrets(t *testing.T) {
	// startAppliance passes on the test process's environment: unset the
	// variables there, for this test only. (An empty value would do as well,
	// the loader counts it as missing; TestIntegrations covers that case.)
	for _, k := range secretVars {
		t.Setenv(k, "") // restores the old value after the test
		require.NoError(t, os.Unsetenv(k))
	}
	a := startAppliance(t, "", t.TempDir(), nil)
	code, _ := httpGet(a.web + "/-/healthy")
	require.Equal(t, http.StatusOK, code)

	// Every integration of the shipped file is listed, each disabled for the
	// variables it needs; names only, never values.
	missingFor := map[string][]string{
		"slack":     nil, // per item, below
		"email":     {"SMTP_SMARTHOST", "SMTP_FROM"},
		"pagerduty": {"PAGERDUTY_INTEGRATION_KEY"},
		"msteamsv2": {"TEAMS_WEBHOOK_URL"},
		"webhook":   {"WATCHDOG_WEBHOOK_URL"},
	}
	var status struct {
		Status string `json:"status"`
		Data   struct {
			ReloadSuccessful bool            `json:"reloadSuccessful"`
			Channels         []channelStatus `json:"channels"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/status", &status)
	require.Equal(t, "success", status.Status)
	require.True(t, status.Data.ReloadSuccessful)
	var listed []string
	for _, ch := range status.Data.Channels {
		listed = append(listed, ch.Receiver+"/"+ch.Integration+"/"+strconv.Itoa(ch.Index))
		want, ok := missingFor[ch.Integration]
		require.True(t, ok, "unexpected integration %+v", ch)
		if ch.Integration == "slack" {
			// Item 0 posts with the bot token, item 1 with the team's
			// webhook, else the shared one.
			want = []string{"SLACK_BOT_TOKEN"}
			if ch.Index == 1 {
				want = []string{"SLACK_WEBHOOK_URL_" + strings.ToUpper(strings.TrimSuffix(ch.Receiver, "-slack")), "SLACK_WEBHOOK_URL"}
			}
		}
		require.False(t, ch.Enabled, "%+v", ch)
		require.ElementsMatch(t, want, ch.Missing, "%+v", ch)
	}
	require.ElementsMatch(t, shippedChannels(t), listed)

	// The start-up log names each disabled channel and what it lacks, one
	// line per channel or per integration (with a receivers list).
	var disabledLines []map[string][]string
	for _, line := range strings.Split(a.logs.String(), "\n") {
		if f := logFields(line); len(f["msg"]) == 1 && strings.HasPrefix(f["msg"][0], "notification channel disabled") {
			disabledLines = append(disabledLines, f)
		}
	}
	for _, ch := range status.Data.Channels {
		require.True(t, slices.ContainsFunc(disabledLines, func(f map[string][]string) bool {
			return slices.Equal(f["integration"], []string{ch.Integration}) &&
				(slices.Contains(f["receiver"], ch.Receiver) || slices.Contains(f["receivers"], ch.Receiver)) &&
				slices.Equal(f["missing"], ch.Missing)
		}), "no start-up log line for disabled channel %+v in %v", ch, disabledLines)
	}

	// Alerts still fire and reach the embedded Alertmanager. The Watchdog is
	// vector(1); the embedded evaluation interval is 15s.
	waitFor(t, 45*time.Second, "Watchdog firing", func() bool { return promAlertState(t, a, "Watchdog") == "firing" })
	var amAlerts []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
		Receivers []struct {
			Name string `json:"name"`
		} `json:"receivers"`
	}
	waitFor(t, 15*time.Second, "Watchdog in Alertmanager", func() bool {
		getJSON(t, a.am+"/api/v2/alerts?filter="+url.QueryEscape(`alertname="Watchdog"`), &amAlerts)
		return len(amAlerts) == 1
	})
	require.Equal(t, "active", amAlerts[0].Status.State)
	require.Equal(t, "none", amAlerts[0].Labels["severity"])
	require.Equal(t, "production", amAlerts[0].Labels["environment"], "external label of the embedded prometheus.yml")
	require.Len(t, amAlerts[0].Receivers, 1)
	require.Equal(t, "watchdog", amAlerts[0].Receivers[0].Name, "routed to its receiver even though it has no integration left")

	a.stop()
}

// logFieldRE matches one key=value pair of a logfmt line.
var logFieldRE = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// logFields parses a logfmt line; a value is split at commas (slog prints a
// []string as "[a b]", handled too) so lists compare as lists.
func logFields(line string) map[string][]string {
	out := map[string][]string{}
	for _, m := range logFieldRE.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		if m[1] == "msg" {
			out["msg"] = []string{v}
			continue
		}
		if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			out[m[1]] = strings.Fields(v[1 : len(v)-1])
			continue
		}
		out[m[1]] = strings.Split(v, ",")
	}
	return out
}

// TestNoSecretsLeak sets every secret to a unique marker and makes every
// integration of the shipped alertmanager.yml try, and fail, to deliver
// (they point at a closed port): no marker may appear in any status API, in
// the process's log (debug level, with the delivery errors) or in its data
// directory.
func TestNoSecretsLeak(t *testing.T) {
	rnd := make([]byte, 8)
	_, _ = rand.Read(rnd)
	id := hex.EncodeToString(rnd)
	markers := map[string]string{
		"SLACK_WEBHOOK_URL":         "slackmarker" + id,
		"SLACK_BOT_TOKEN":           "xoxbmarker" + id,
		"PAGERDUTY_INTEGRATION_KEY": "pdmarker" + id,
		"SMTP_PASSWORD":             "smtpmarker" + id,
		"TEAMS_WEBHOOK_URL":         "teamsmarker" + id,
		"WATCHDOG_WEBHOOK_URL":      "watchdogmarker" + id,
		"PAGERDUTY_WEBHOOK_SECRET":  "pdwebhookmarker" + id,
		"SLACK_SIGNING_SECRET":      "slacksigningmarker" + id,
	}
	env := map[string]string{
		// appliance.yml's acknowledge section: the inbound webhooks' secrets.
		"PAGERDUTY_WEBHOOK_SECRET": markers["PAGERDUTY_WEBHOOK_SECRET"],
		"SLACK_SIGNING_SECRET":     markers["SLACK_SIGNING_SECRET"],
		"SLACK_WEBHOOK_URL":        "http://127.0.0.1:1/services/T0/B0/" + markers["SLACK_WEBHOOK_URL"],
		"SLACK_BOT_TOKEN":          markers["SLACK_BOT_TOKEN"],
		// The bot token posts to slack.com: through a proxy on a closed port.
		"HTTPS_PROXY":               "http://127.0.0.1:1",
		"PAGERDUTY_INTEGRATION_KEY": markers["PAGERDUTY_INTEGRATION_KEY"],
		"SMTP_SMARTHOST":            "127.0.0.1:1",
		"SMTP_FROM":                 "smm-appliance@e2e.example",
		"SMTP_USERNAME":             "smm-e2e",
		"SMTP_PASSWORD":             markers["SMTP_PASSWORD"],
		"TEAMS_WEBHOOK_URL":         "http://127.0.0.1:1/workflows/" + markers["TEAMS_WEBHOOK_URL"],
		"WATCHDOG_WEBHOOK_URL":      "http://127.0.0.1:1/" + markers["WATCHDOG_WEBHOOK_URL"],
	}
	// The shipped alertmanager.yml, its templates and the appliance rules
	// (the Watchdog), plus a probe rule that pages at once. PagerDuty goes to
	// the closed port as well instead of the real events.pagerduty.com.
	dir := shippedConfigDir(t, "integrations/secrets", []string{"appliance.yml"}, pagerDutyURLEdit("http://127.0.0.1:1/v2/enqueue"))
	a := startAppliance(t, dir, t.TempDir(), env)

	var status struct {
		Data struct {
			Channels []channelStatus `json:"channels"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/status", &status)
	for _, ch := range status.Data.Channels {
		require.True(t, ch.inForce(), "%+v", ch)
	}

	// Every integration has failed at least once, so its error is logged.
	waitFor(t, 60*time.Second, "a failed delivery on every integration", func() bool {
		_, body := httpGet(a.web + "/metrics")
		for _, integration := range []string{"slack", "pagerduty", "email", "msteamsv2", "webhook"} {
			if !metricPositive(string(body), "alertmanager_notification_requests_failed_total", `integration="`+integration+`"`) {
				return false
			}
		}
		return true
	})

	// The configuration is visible, with the secrets redacted.
	var amStatus struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	getJSON(t, a.am+"/api/v2/status", &amStatus)
	require.Contains(t, amStatus.Config.Original, "app_token: <secret>")
	require.Contains(t, amStatus.Config.Original, "routing_key: <secret>")

	endpoints := []string{
		a.web + "/api/v1/status/config",
		a.web + "/api/v1/status/flags",
		a.web + "/api/v1/status/runtimeinfo",
		a.web + "/api/v1/appliance/status",
		a.web + "/alertmanager/api/v2/status",
		a.web + "/alertmanager/api/v1/status",
		a.am + "/api/v2/status",
		a.am + "/api/v1/status",
		a.am + "/api/v2/receivers",
		a.am + "/api/v2/alerts",
		a.web + "/metrics",
	}
	for _, u := range endpoints {
		code, body := httpGet(u)
		require.Equal(t, http.StatusOK, code, "GET %s: %s", u, body)
		for name, m := range markers {
			require.NotContains(t, string(body), m, "GET %s shows %s", u, name)
		}
	}

	a.stop()
	logs := a.logs.String()
	require.Contains(t, logs, "Notify attempt failed", "the delivery errors are in the log checked below")
	for name, m := range markers {
		require.NotContains(t, logs, m, "the log shows %s", name)
	}
	noMarkerInDir(t, a.dataDir, markers)
}

// metricPositive reports whether a sample of metric whose labels contain
// labelMatch has a value above 0 in a text exposition.
func metricPositive(exposition, metric, labelMatch string) bool {
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, metric+"{") || !strings.Contains(line, labelMatch) {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil && v > 0 {
			return true
		}
	}
	return false
}

// TestNoSecretsLeakEscaped: secrets with a trailing newline (as read from
// files) or another control character. A trailing newline is trimmed, so the
// channel works; a control character inside makes the configuration invalid,
// and the parser's error quotes the value (Go's %q prints it escaped, where
// the plain value no longer matches). No form of any marker may appear in
// `check config`, the start-up log, a failed reload's answer, log and audit
// entry, the configuration dumps or the data directory. The dumps also
// show SMTP_SMARTHOST, SMTP_FROM and SMTP_USERNAME as <secret> (README,
// Secrets).
func TestNoSecretsLeakEscaped(t *testing.T) {
	rnd := make([]byte, 8)
	_, _ = rand.Read(rnd)
	id := hex.EncodeToString(rnd)
	markers := map[string]string{
		"SLACK_WEBHOOK_URL":         "slackmarker" + id,
		"SLACK_BOT_TOKEN":           "xoxbmarker" + id,
		"PAGERDUTY_INTEGRATION_KEY": "pdmarker" + id,
		"SMTP_USERNAME":             "smtpusermarker" + id,
		"SMTP_PASSWORD":             "smtpmarker" + id,
		"SMTP_FROM":                 "frommarker" + id,
		"TEAMS_WEBHOOK_URL":         "teamsmarker" + id,
		"WATCHDOG_WEBHOOK_URL":      "watchdogmarker" + id,
		"E2E_BROKEN_URL":            "brokenmarker" + id,
	}
	env := map[string]string{
		"SLACK_WEBHOOK_URL":         "http://127.0.0.1:1/services/T0/B0/" + markers["SLACK_WEBHOOK_URL"] + "\n",
		"SLACK_BOT_TOKEN":           markers["SLACK_BOT_TOKEN"] + "\n",
		"HTTPS_PROXY":               "http://127.0.0.1:1",
		"PAGERDUTY_INTEGRATION_KEY": markers["PAGERDUTY_INTEGRATION_KEY"] + "\r\n",
		"SMTP_SMARTHOST":            "127.0.0.1:1\n",
		"SMTP_FROM":                 markers["SMTP_FROM"] + "@e2e.example\n",
		"SMTP_USERNAME":             markers["SMTP_USERNAME"] + "\n",
		"SMTP_PASSWORD":             markers["SMTP_PASSWORD"] + "\n",
		"TEAMS_WEBHOOK_URL":         "http://127.0.0.1:1/workflows/" + markers["TEAMS_WEBHOOK_URL"] + " \n",
		"WATCHDOG_WEBHOOK_URL":      "http://127.0.0.1:1/" + markers["WATCHDOG_WEBHOOK_URL"] + "\n",
		"E2E_BROKEN_URL":            "http://127.0.0.1:1/" + markers["E2E_BROKEN_URL"] + "\x01\n",
	}
	noMarker := func(where, text string) {
		t.Helper()
		for name, m := range markers {
			require.NotContains(t, text, m, "%s shows %s", where, name)
		}
	}
	dir := shippedConfigDir(t, "integrations/secrets", []string{"appliance.yml"}, pagerDutyURLEdit("http://127.0.0.1:1/v2/enqueue"))
	amFile := filepath.Join(dir, "alertmanager.yml")
	good, err := os.ReadFile(amFile)
	require.NoError(t, err)
	broken := strings.Replace(string(good), "${WATCHDOG_WEBHOOK_URL}", "${E2E_BROKEN_URL}", 1)
	require.NotEqual(t, string(good), broken)

	// check config and a start on the broken file: both fail, quoting nothing.
	require.NoError(t, os.WriteFile(amFile, []byte(broken), 0o644))
	cmdEnv := os.Environ()
	for k, v := range env {
		cmdEnv = append(cmdEnv, k+"="+v)
	}
	check := exec.Command(binary, "check", "config", "--config.dir", dir)
	check.Env = cmdEnv
	out, err := check.CombinedOutput()
	require.Error(t, err, "check config must fail: %s", out)
	require.Contains(t, string(out), "<secret>", "the error is there, redacted")
	noMarker("check config", string(out))
	data := t.TempDir()
	start := exec.Command(binary, "--config.dir", dir, "--storage.path", data, "--web.listen-address", freePort(t), "--alertmanager.listen-address", freePort(t), "--log.level", "debug")
	start.Env = cmdEnv
	out, err = start.CombinedOutput()
	require.Error(t, err, "start must fail: %s", out)
	noMarker("the start-up log", string(out))
	noMarkerInDir(t, data, markers)

	// A good file: trailing whitespace is trimmed, every channel is on.
	require.NoError(t, os.WriteFile(amFile, good, 0o644))
	a := startAppliance(t, dir, t.TempDir(), env)
	var status struct {
		Data struct {
			Channels []channelStatus `json:"channels"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/status", &status)
	for _, ch := range status.Data.Channels {
		require.True(t, ch.inForce(), "%+v", ch)
	}

	// A reload onto the broken file fails; answer, log and audit are clean.
	require.NoError(t, os.WriteFile(amFile, []byte(broken), 0o644))
	code, body := postJSON(t, a.web+"/-/reload", nil)
	require.Equal(t, http.StatusInternalServerError, code, "%s", body)
	require.Contains(t, string(body), "<secret>")
	noMarker("the reload answer", string(body))
	_, auditBody := httpGet(a.web + "/api/v1/appliance/audit?event=config_reload")
	require.Contains(t, string(auditBody), `\u003csecret\u003e`, "the failed reload is audited with its redacted error")
	noMarker("the audit log", string(auditBody))

	var amStatus struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	getJSON(t, a.am+"/api/v2/status", &amStatus)
	for _, want := range []string{"smtp_smarthost: <secret>", "smtp_from: <secret>", "smtp_auth_username: <secret>", "app_token: <secret>"} {
		require.Contains(t, amStatus.Config.Original, want)
	}
	for _, u := range []string{
		a.web + "/api/v1/status/config", a.web + "/api/v1/appliance/status",
		a.web + "/alertmanager/api/v2/status", a.web + "/alertmanager/api/v1/status",
		a.am + "/api/v2/status", a.am + "/api/v1/status", a.am + "/api/v2/receivers", a.web + "/metrics",
	} {
		code, body := httpGet(u)
		require.Equal(t, http.StatusOK, code, "GET %s: %s", u, body)
		noMarker("GET "+u, string(body))
	}
	a.stop()
	noMarker("the log", a.logs.String())
	noMarkerInDir(t, a.dataDir, markers)
}

func noMarkerInDir(t *testing.T, dir string, markers map[string]string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name, m := range markers {
			require.NotContains(t, string(b), m, "%s stored in %s", name, path)
		}
		return nil
	}))
}
