package configfiles

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const minimalProm = "global:\n  scrape_interval: 15s\n"

// setup writes prometheus.yml and alertmanager.yml into a temp dir.
func setup(t *testing.T, prom, am string) Sources {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, PrometheusFile), []byte(prom), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, AlertmanagerFile), []byte(am), 0o644))
	return Sources{Dir: dir, EmbeddedDir: t.TempDir()}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}

func TestChannelsDisabledForMissingSecrets(t *testing.T) {
	am, err := os.ReadFile("testdata/channels.alertmanager.yml")
	require.NoError(t, err)
	cases := []struct {
		name     string
		env      map[string]string
		disabled map[string][]string // "receiver/integration[idx]" -> missing
	}{
		{
			name: "all set",
			env:  map[string]string{"SLACK_URL": "https://hooks.example/x", "SMTP_HOST": "smtp.example:25", "HOOK_URL": "http://127.0.0.1:9/h", "PD_KEY": "k"},
		},
		{
			name: "nothing set",
			env:  map[string]string{},
			disabled: map[string][]string{
				"team/slack[0]":      {"SLACK_URL"},
				"team/email[0]":      {"SMTP_HOST"},
				"team/webhook[0]":    {"HOOK_URL"},
				"pager/pagerduty[0]": {"PD_KEY"},
			},
		},
		{
			name:     "only the slack global missing",
			env:      map[string]string{"SMTP_HOST": "smtp.example:25", "HOOK_URL": "http://127.0.0.1:9/h", "PD_KEY": "k"},
			disabled: map[string][]string{"team/slack[0]": {"SLACK_URL"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := setup(t, minimalProm, string(am))
			set, err := Loader{Sources: src, Lookup: env(c.env)}.Load()
			require.NoError(t, err)
			got := map[string][]string{}
			for _, ch := range set.DisabledChannels() {
				got[ch.Receiver+"/"+ch.Integration+"["+itoa(ch.Index)+"]"] = ch.Missing
			}
			if c.disabled == nil {
				c.disabled = map[string][]string{}
			}
			require.Equal(t, c.disabled, got)
			require.Len(t, set.Channels, 6, "every integration is listed, enabled or not")
			// The receiver with its own api_url keeps Slack without the global.
			for _, ch := range set.Channels {
				if ch.Receiver == "own-slack-url" {
					require.True(t, ch.Enabled)
				}
			}
			// Dropped integrations are gone from the parsed config, the rest stay.
			team := set.Alertmanager.Receivers[0]
			require.Equal(t, "team", team.Name)
			wantHooks := 2
			if _, ok := c.env["HOOK_URL"]; !ok {
				wantHooks = 1
			}
			require.Len(t, team.WebhookConfigs, wantHooks)
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestReceiversWithoutChannels(t *testing.T) {
	am, err := os.ReadFile("testdata/channels.alertmanager.yml")
	require.NoError(t, err)
	set, err := Loader{Sources: setup(t, minimalProm, string(am)), Lookup: env(nil)}.Load()
	require.NoError(t, err)
	// "team" keeps its static webhook; "pager" lost its only channel.
	require.Equal(t, map[string]bool{"pager": true}, set.ReceiversWithoutChannels())
}

func TestSecretsNeverInParsedStrings(t *testing.T) {
	am, err := os.ReadFile("testdata/channels.alertmanager.yml")
	require.NoError(t, err)
	secret := "https://hooks.example/services/T0/B0/very-secret-token"
	set, err := Loader{Sources: setup(t, minimalProm, string(am)), Lookup: env(map[string]string{"SLACK_URL": secret, "PD_KEY": "pd-secret-key"})}.Load()
	require.NoError(t, err)
	require.NotContains(t, set.Alertmanager.String(), "very-secret-token")
	require.NotContains(t, set.Alertmanager.String(), "pd-secret-key")
}

// TestBadFiles: every broken file is refused with its file name and, where
// the parser knows it, the line.
func TestBadFiles(t *testing.T) {
	goodAM := "route:\n  receiver: r\nreceivers:\n  - name: r\n"
	cases := []struct {
		name      string
		prom, am  string
		rules     string
		wantInErr []string
	}{
		{name: "prometheus yaml syntax", prom: "global:\n  scrape_interval: [\n", am: goodAM, wantInErr: []string{"prometheus.yml", "line"}},
		{name: "prometheus unknown field", prom: "global:\n  scrape_intervall: 1s\n", am: goodAM, wantInErr: []string{"prometheus.yml", "scrape_intervall"}},
		{name: "missing variable outside a channel", prom: minimalProm + "scrape_configs:\n  - job_name: x\n    static_configs:\n      - targets: ['${TARGET}']\n", am: goodAM,
			wantInErr: []string{"prometheus.yml", "line 6", "TARGET is not set"}},
		{name: "alertmanager unknown receiver", prom: minimalProm, am: "route:\n  receiver: nope\nreceivers:\n  - name: r\n", wantInErr: []string{"alertmanager.yml", `undefined receiver "nope"`}},
		{name: "alertmanager wrong type", prom: minimalProm, am: "route:\n  receiver: r\n  group_wait: [1s]\nreceivers:\n  - name: r\n", wantInErr: []string{"alertmanager.yml", "line 3"}},
		{name: "template syntax error", prom: minimalProm, am: "templates: [t.tmpl]\n" + goodAM, wantInErr: []string{"templates", "t.tmpl"}},
		{name: "invalid PromQL in a rule", prom: minimalProm + "rule_files: [rules.yml]\n", am: goodAM,
			rules:     "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n",
			wantInErr: []string{"rules.yml: 5:15", "could not parse expression"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := setup(t, c.prom, c.am)
			require.NoError(t, os.WriteFile(filepath.Join(src.Dir, "t.tmpl"), []byte(`{{ define "x" }}{{ .Foo `), 0o644))
			if c.rules != "" {
				require.NoError(t, os.WriteFile(filepath.Join(src.Dir, "rules.yml"), []byte(c.rules), 0o644))
			}
			_, err := Loader{Sources: src, Lookup: env(nil)}.Load()
			require.Error(t, err)
			for _, w := range c.wantInErr {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestEmbeddedFallback(t *testing.T) {
	// A file missing from Dir comes from EmbeddedDir.
	src := setup(t, minimalProm, "route:\n  receiver: r\nreceivers:\n  - name: r\n")
	require.NoError(t, os.Remove(filepath.Join(src.Dir, AlertmanagerFile)))
	require.NoError(t, os.WriteFile(filepath.Join(src.EmbeddedDir, AlertmanagerFile), []byte("route:\n  receiver: embedded\nreceivers:\n  - name: embedded\n"), 0o644))
	set, err := Loader{Sources: src, Lookup: env(nil)}.Load()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(src.Dir, PrometheusFile), set.PrometheusPath)
	require.Equal(t, filepath.Join(src.EmbeddedDir, AlertmanagerFile), set.AlertmanagerPath)
	require.Equal(t, "embedded", set.Alertmanager.Route.Receiver)
}

func TestLocate(t *testing.T) {
	text := "route:\n  receiver: x\n  group_wait: nope\n# nope in a comment\n"
	cases := []struct{ in, want string }{
		{`not a valid duration string: "nope"`, `line 3: not a valid duration string: "nope"`},
		{`yaml: line 7: mapping values are not allowed`, `yaml: line 7: mapping values are not allowed`},
		{`unknown thing "zzz"`, `unknown thing "zzz"`},
		{`ambiguous "x"`, `ambiguous "x"`}, // on two lines: no guess
	}
	for _, c := range cases {
		require.Equal(t, c.want, locate(errors.New(c.in), text+"  x: x\n").Error())
	}
}

// TestErrorsNeverShowSecrets: a secret that makes a file invalid is named
// by its variable, never by its value.
func TestErrorsNeverShowSecrets(t *testing.T) {
	// A value put where a duration belongs: the parser quotes it back.
	am := "route:\n  receiver: r\n  group_wait: ${WAIT}\nreceivers:\n  - name: r\n"
	secret := "very-secret-token"
	_, err := Loader{Sources: setup(t, minimalProm, am), Lookup: env(map[string]string{"WAIT": secret})}.Load()
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret)
	require.Contains(t, err.Error(), `not a valid duration string: "<secret>"`)
}

// FuzzLoadAlertmanager: no alertmanager.yml makes the loader panic; a file
// it accepts has a route (Alertmanager's own invariant).
func FuzzLoadAlertmanager(f *testing.F) {
	seeds := []string{
		"route:\n  receiver: r\nreceivers:\n  - name: r\n",
		"global:\n  slack_api_url: ${S}\nroute:\n  receiver: r\nreceivers:\n  - name: r\n    slack_configs:\n      - channel: x\n",
		"route: {receiver: r, routes: [{matchers: ['a=~\"(\"']}]}\nreceivers: [{name: r}]\n",
		"templates: ['*.tmpl']\nroute:\n  receiver: r\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	dir := f.TempDir()
	emb := f.TempDir()
	f.Fuzz(func(t *testing.T, am string) {
		if err := os.WriteFile(filepath.Join(dir, PrometheusFile), []byte(minimalProm), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, AlertmanagerFile), []byte(am), 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := Loader{Sources: Sources{Dir: dir, EmbeddedDir: emb}, Lookup: env(nil)}.Load()
		if err == nil && set.Alertmanager.Route == nil {
			t.Fatal("accepted a config without a route")
		}
	})
}

// TestLoadScrubsEscapedSecrets: a secret with control characters is quoted
// by the parser that rejects it (%q turns a newline into \n); no form of it
// reaches the error. A trailing newline alone is trimmed, not an error.
func TestLoadScrubsEscapedSecrets(t *testing.T) {
	am := "route:\n  receiver: hook\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: ${HOOK_URL}\n"
	const marker = "hookmarker7c1e"
	for _, v := range []string{
		"http://127.0.0.1:9/" + marker + "\x01x",
		"http://127.0.0.1:9/" + marker + "\x7f\n",
		"http://127.0.0.1:9/" + marker + " é\t%zz\n",
	} {
		_, err := Loader{Sources: setup(t, minimalProm, am), Lookup: env(map[string]string{"HOOK_URL": v})}.Load()
		require.Error(t, err, "%q", v)
		require.NotContains(t, err.Error(), marker, "%q", v)
		require.Contains(t, err.Error(), "<secret>")
	}
	set, err := Loader{Sources: setup(t, minimalProm, am), Lookup: env(map[string]string{"HOOK_URL": "http://127.0.0.1:9/" + marker + "\n"})}.Load()
	require.NoError(t, err, "a trailing newline is trimmed")
	require.Equal(t, "http://127.0.0.1:9/"+marker, string(set.Alertmanager.Receivers[0].WebhookConfigs[0].URL))
}

func TestScrubForms(t *testing.T) {
	v := "pa ss/wörd\"\n<&>"
	for _, form := range []string{v, `pa ss/w\u00f6rd\"\n<&>`, `pa ss/wörd\"\n\u003c\u0026\u003e`, "pa+ss%2Fw%C3%B6rd%22%0A%3C%26%3E", "pa%20ss%2Fw%C3%B6rd%22%0A%3C&%3E", `pa ss/wörd\"\n<&>`} {
		require.NotContains(t, Scrub("x "+form+" y", []string{v}), "ss/w", form)
	}
}

// TestRedactDump: the variables README classifies as secrets are <secret>
// in the configuration dump; PAGERDUTY_URL is shown.
func TestRedactDump(t *testing.T) {
	am := "global:\n  smtp_smarthost: ${SMTP_SMARTHOST}\n  smtp_from: ${SMTP_FROM}\n  smtp_auth_username: ${SMTP_USERNAME:-}\n  pagerduty_url: ${PAGERDUTY_URL:-https://events.pagerduty.com/v2/enqueue}\n" +
		"route:\n  receiver: mail\nreceivers:\n- name: mail\n  email_configs:\n  - to: ops@example.com\n"
	set, err := Loader{Sources: setup(t, minimalProm, am), Lookup: env(map[string]string{
		"SMTP_SMARTHOST": "relay.example.com:587", "SMTP_FROM": "am@example.com", "SMTP_USERNAME": "bob", "PAGERDUTY_URL": "https://pd-proxy.example/v2/enqueue",
	})}.Load()
	require.NoError(t, err)
	dump := set.RedactDump(set.Alertmanager.String())
	for _, v := range []string{"relay.example.com", "am@example.com", "bob"} {
		require.NotContains(t, dump, v)
	}
	require.Contains(t, dump, "smtp_auth_username: <secret>")
	require.Contains(t, dump, "smarthost: <secret>")
	require.Contains(t, dump, "https://pd-proxy.example/v2/enqueue")
}

// TestSlackAlternatives: a bot-token item and a webhook item for one channel
// are alternatives; the first whose secret is set posts and the other is
// dropped and reported "replaced", so a site with both secrets gets one
// message per notification, not two, and is not warned about the unused one.
func TestSlackAlternatives(t *testing.T) {
	am, err := os.ReadFile("testdata/slack-alternatives.alertmanager.yml")
	require.NoError(t, err)
	cases := []struct {
		name     string
		env      map[string]string
		inForce  string              // auth of the team item kept: "bot", a webhook URL, or "" for none
		state    map[string]string   // "receiver/slack[i]" -> "on", "off" or "replaced by slack[j]"
		disabled map[string][]string // DisabledChannels: receiver/slack[i] -> missing
	}{
		{
			name: "bot token and webhook: bot only", env: map[string]string{"BOT": "xoxb-1", "HOOK": "https://hooks.example/shared"},
			inForce: "bot",
			state:   map[string]string{"team/slack[0]": "on", "team/slack[1]": "replaced by slack[0]", "two-channels/slack[0]": "on", "two-channels/slack[1]": "on"},
		},
		{
			name: "bot token only", env: map[string]string{"BOT": "xoxb-1"},
			inForce:  "bot",
			state:    map[string]string{"team/slack[0]": "on", "team/slack[1]": "replaced by slack[0]", "two-channels/slack[0]": "off", "two-channels/slack[1]": "on"},
			disabled: map[string][]string{"two-channels/slack[0]": {"HOOK"}},
		},
		{
			name: "team webhook wins over the shared one", env: map[string]string{"HOOK_TEAM": "https://hooks.example/team", "HOOK": "https://hooks.example/shared"},
			inForce: "https://hooks.example/team",
			state:   map[string]string{"team/slack[0]": "replaced by slack[1]", "team/slack[1]": "on", "two-channels/slack[0]": "on", "two-channels/slack[1]": "on"},
		},
		{
			name: "shared webhook", env: map[string]string{"HOOK": "https://hooks.example/shared"},
			inForce: "https://hooks.example/shared",
			state:   map[string]string{"team/slack[0]": "replaced by slack[1]", "team/slack[1]": "on", "two-channels/slack[0]": "on", "two-channels/slack[1]": "on"},
		},
		{
			name: "nothing set", env: map[string]string{},
			state:    map[string]string{"team/slack[0]": "off", "team/slack[1]": "off", "two-channels/slack[0]": "off", "two-channels/slack[1]": "on"},
			disabled: map[string][]string{"team/slack[0]": {"BOT"}, "team/slack[1]": {"HOOK_TEAM", "HOOK"}, "two-channels/slack[0]": {"HOOK"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := Loader{Sources: setup(t, minimalProm, string(am)), Lookup: env(c.env)}.Load()
			require.NoError(t, err)
			state := map[string]string{}
			for _, ch := range set.Channels {
				s := "off"
				switch {
				case ch.Enabled:
					s = "on"
				case ch.ReplacedBy != "":
					s = "replaced by " + ch.ReplacedBy
				}
				state[ch.Receiver+"/"+ch.Integration+"["+itoa(ch.Index)+"]"] = s
			}
			require.Equal(t, c.state, state)
			disabled := map[string][]string{}
			for _, ch := range set.DisabledChannels() {
				disabled[ch.Receiver+"/"+ch.Integration+"["+itoa(ch.Index)+"]"] = ch.Missing
			}
			if c.disabled == nil {
				c.disabled = map[string][]string{}
			}
			require.Equal(t, c.disabled, disabled)

			// The parsed configuration holds the one item in force.
			team := set.Alertmanager.Receivers[0]
			if c.inForce == "" {
				require.Empty(t, team.SlackConfigs)
				return
			}
			require.Len(t, team.SlackConfigs, 1, "one post per notification")
			sc := team.SlackConfigs[0]
			require.Equal(t, "#team", sc.Channel)
			if c.inForce == "bot" {
				require.Equal(t, "xoxb-1", string(sc.AppToken))
				require.True(t, sc.PostUpdatesToThread)
			} else {
				require.Equal(t, c.inForce, sc.APIURL.String())
			}
		})
	}
}
