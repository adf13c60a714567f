package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/smm-architect/smm-appliance/configs"
	"github.com/smm-architect/smm-appliance/web/auth"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestHelpGolden pins the command line: flag names are an interface that
// unit files, runbooks and packages depend on.
func TestHelpGolden(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"--help"}, &out, &errOut), errOut.String())
	golden := filepath.Join("testdata", "help.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run: go test ./cmd/smm-appliance -run TestHelpGolden -update")
	require.Equal(t, string(want), out.String())
}

func TestVersionAndBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"--version"}, &out, &errOut))
	require.Contains(t, out.String()+errOut.String(), "smm-appliance, version")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 2, run([]string{"--no-such-flag"}, &out, &errOut))
	require.Contains(t, errOut.String(), "unknown long flag '--no-such-flag'")
}

// TestCheckConfig: the embedded defaults are valid and every channel is
// reported disabled without secrets (names only, never values); a broken
// file fails with its file and line.
func TestCheckConfig(t *testing.T) {
	for _, v := range []string{"SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_DATABASE", "PAGERDUTY_INTEGRATION_KEY", "SMTP_SMARTHOST", "SMTP_FROM", "TEAMS_WEBHOOK_URL", "WATCHDOG_WEBHOOK_URL"} {
		os.Unsetenv(v)
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"check", "config"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "SUCCESS: <embedded>/prometheus.yml is valid")
	require.Contains(t, out.String(), "SUCCESS: <embedded>/alertmanager.yml is valid")
	require.Contains(t, out.String(), "channel database-slack/slack[0]: DISABLED, missing SLACK_BOT_TOKEN\n")
	require.Contains(t, out.String(), "channel database-slack/slack[1]: DISABLED, missing SLACK_WEBHOOK_URL_DATABASE, SLACK_WEBHOOK_URL\n")
	// A summary after the DISABLED lines, and the files in force with
	// their origin.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Regexp(t, `^0 of \d+ notification channels enabled, \d+ disabled for missing secrets$`, lines[len(lines)-1])
	require.Contains(t, out.String(), "file rules/agents.yml: embedded (<embedded>/rules/agents.yml)")

	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.example/check-config-marker")
	out.Reset()
	require.Equal(t, 0, run([]string{"check", "config"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "channel database-slack/slack[1]: enabled")
	require.Contains(t, out.String(), "channel database-slack/slack[0]: not used, slack[1] posts to its channel instead")
	require.NotContains(t, out.String(), "check-config-marker")
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Regexp(t, `^\d+ of \d+ notification channels enabled, \d+ disabled for missing secrets, 8 not used \(an alternative posts\)$`, lines[len(lines)-1])

	// With the bot token too, the bot posts and the webhook is not used.
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-check-config-marker")
	out.Reset()
	require.Equal(t, 0, run([]string{"check", "config"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "channel database-slack/slack[0]: enabled")
	require.Contains(t, out.String(), "channel database-slack/slack[1]: not used, slack[0] posts to its channel instead")
	require.NotContains(t, out.String(), "check-config-marker")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte("route:\n  receiver: x\n  group_wait: nope\nreceivers:\n  - name: x\n"), 0o644))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run([]string{"check", "config", "--config.dir", dir}, &out, &errOut))
	require.True(t, strings.Contains(errOut.String(), filepath.Join(dir, "alertmanager.yml")) && strings.Contains(errOut.String(), "line 3"), errOut.String())
}

// TestCheckConfigWebConfig: check config validates --web.config.file as
// run does: users and TLS settings; a good one passes.
func TestCheckConfigWebConfig(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	good := filepath.Join(dir, "web.yml")
	require.Equal(t, 0, run([]string{"init-auth", "--web.config.file=" + good, "--group=" + strconv.Itoa(os.Getgid())}, &out, &errOut), errOut.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"check", "config", "--web.config.file=" + good}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "SUCCESS: web config "+good+" is valid")

	for name, text := range map[string]string{
		"missing certificate": "tls_server_config:\n  cert_file: " + filepath.Join(dir, "nope.crt") + "\n  key_file: " + filepath.Join(dir, "nope.key") + "\n",
		"unknown field":       "basic_auth_users:\n  admin: x\nno_such_field: 1\n",
	} {
		bad := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
		require.NoError(t, os.WriteFile(bad, []byte(text), 0o600))
		out.Reset()
		errOut.Reset()
		require.Equal(t, 1, run([]string{"check", "config", "--web.config.file=" + bad}, &out, &errOut), "%s: %s", name, out.String())
		require.Contains(t, errOut.String(), bad, name)
	}
}

func TestHashPassword(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, hashPassword(strings.NewReader("correct horse battery\n"), &out, &errOut))
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out.String())), []byte("correct horse battery")))
	out.Reset()
	require.Equal(t, 1, hashPassword(strings.NewReader("short\n"), &out, &errOut))
	require.Empty(t, out.String())
}

// TestInitAuth: the packages' install step creates the web config with a
// random admin password, prints it once with what to do next and keeps it in
// a root-only file; run again (an upgrade) it changes nothing.
func TestInitAuth(t *testing.T) {
	dir := t.TempDir()
	webCfg := filepath.Join(dir, "web.yml")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"init-auth", "--web.config.file=" + webCfg, "--group=" + strconv.Itoa(os.Getgid())}, &out, &errOut), errOut.String())
	m := regexp.MustCompile(`(?m)^ +password: +(\S+)$`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	pw := m[1]
	require.Regexp(t, `(?m)^ +user: +admin$`, out.String())
	for _, want := range []string{webCfg, filepath.Join(dir, "initial-admin-password"), "shown only this once", "smm-appliance hash-password", "Rotating the admin password"} {
		require.Contains(t, out.String(), want)
	}
	users, err := auth.LoadUsers(webCfg)
	require.NoError(t, err)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(users["admin"]), []byte(pw)))
	got, err := os.ReadFile(filepath.Join(dir, "initial-admin-password"))
	require.NoError(t, err)
	require.Equal(t, pw+"\n", string(got))

	before, err := os.ReadFile(webCfg)
	require.NoError(t, err)
	out.Reset()
	require.Equal(t, 0, run([]string{"init-auth", "--web.config.file=" + webCfg}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "exists; its users and passwords are unchanged")
	require.NotContains(t, out.String(), "password:")
	after, err := os.ReadFile(webCfg)
	require.NoError(t, err)
	require.Equal(t, before, after)

	// The environment variable the unit and the image set works as well.
	t.Setenv("SMM_WEB_CONFIG_FILE", filepath.Join(dir, "env.yml"))
	out.Reset()
	require.Equal(t, 0, run([]string{"init-auth", "--password-file=" + filepath.Join(dir, "env-password"), "--user=root-admin"}, &out, &errOut), errOut.String())
	require.Regexp(t, `(?m)^ +user: +root-admin$`, out.String())
	require.FileExists(t, filepath.Join(dir, "env-password"))

	t.Setenv("SMM_WEB_CONFIG_FILE", "")
	errOut.Reset()
	require.Equal(t, 2, run([]string{"init-auth"}, &out, &errOut))
	require.Contains(t, errOut.String(), "--web.config.file is required")
	require.Equal(t, 1, run([]string{"init-auth", "--web.config.file=" + filepath.Join(dir, "g.yml"), "--group=no-such-group-here"}, &out, &errOut))
	require.NoFileExists(t, filepath.Join(dir, "g.yml"))
}

// TestCheckConfigEscalationRoutes: check config refuses, as a start or
// reload would, an escalation step whose copies alertmanager.yml does not
// route to the step's receiver (they would reach the team's receivers).
func TestCheckConfigEscalationRoutes(t *testing.T) {
	shipped, err := configs.FS.ReadFile("alertmanager.yml")
	require.NoError(t, err)
	am := strings.Replace(string(shipped), "\nreceivers:\n", "\nreceivers:\n  - name: database-secondary\n", 1)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(am), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "appliance.yml"), []byte(`escalation:
  chains:
    - name: critical-database
      matchers: ['severity="critical"', 'team="database"']
      steps:
        - after: 10m
          receiver: database-secondary
`), 0o644))
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{"check", "config", "--config.dir", dir}, &out, &errOut), out.String())
	require.Contains(t, errOut.String(), `escalation chain "critical-database" step 1 sends to receiver "database-secondary", but `+filepath.Join(dir, "alertmanager.yml")+` routes its copies`)
}
