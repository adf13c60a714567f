package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/alertdocs"
)

// runTool runs the command line in-process and returns exit code and output.
// The config directory comes from the arguments only, never the environment.
func runTool(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("SMM_CONFIG_DIR", "")
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Labels the shipped rules set on the two example alerts.
var (
	databaseFailureLabels = []string{"alertname=SMM_DatabaseConnectionFailure", "severity=critical", "team=database", "service=postgres", "category=infrastructure"}
	agentFailureLabels    = []string{"alertname=SMM_AgentHighFailureRate", "severity=warning", "team=agent", "service=smm-agents", "category=agents"}
)

func TestRoutesTest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "critical database alert: on-call, Teams mirror, database and platform",
			args:       databaseFailureLabels,
			wantStdout: "pagerduty-oncall,msteams-mirror,platform-slack,platform-email,database-slack,database-email\n",
		},
		{
			name:       "verified in another order",
			args:       append([]string{"--verify.receivers=database-email,database-slack,platform-email,platform-slack,msteams-mirror,pagerduty-oncall"}, databaseFailureLabels...),
			wantStdout: "pagerduty-oncall,msteams-mirror,platform-slack,platform-email,database-slack,database-email\n",
		},
		{
			name:       "warning agent alert: Slack and e-mail of agent and platform, no page",
			args:       append([]string{"--verify.receivers=platform-slack,platform-email,agent-slack,agent-email"}, agentFailureLabels...),
			wantStdout: "platform-slack,platform-email,agent-slack,agent-email\n",
		},
		{
			name:       "verification fails",
			args:       append([]string{"--verify.receivers=pagerduty-oncall,agent-slack"}, agentFailureLabels...),
			wantCode:   1,
			wantStdout: "platform-slack,platform-email,agent-slack,agent-email\n",
			wantStderr: "WARNING: expected receivers did not match resolved receivers: expected receivers agent-slack,pagerduty-oncall, resolved platform-slack,platform-email,agent-slack,agent-email\n",
		},
		{
			name:       "a matcher is not a label",
			args:       []string{"severity=~crit.*"},
			wantCode:   2,
			wantStderr: "routes test: label \"severity=~crit.*\": labels must be name=value, not matchers\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runTool(t, append([]string{"routes", "test"}, tc.args...)...)
			require.Equal(t, tc.wantStderr, stderr)
			require.Equal(t, tc.wantStdout, stdout)
			require.Equal(t, tc.wantCode, code)
		})
	}
}

// TestRoutesConfigDir routes with an operator's alertmanager.yml, which
// replaces the embedded one; ${VAR} defaults are expanded.
func TestRoutesConfigDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(`
route:
  receiver: ${DEFAULT_RECEIVER:-ops}
  routes:
    - receiver: db
      matchers: ['service="postgres"']
receivers: [{name: ops}, {name: db}]
`), 0o644))
	code, stdout, stderr := runTool(t, "routes", "test", "--config.dir", dir, "service=postgres")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "db\n", stdout)
	code, stdout, _ = runTool(t, "--config.dir", dir, "routes", "test", "service=redis")
	require.Equal(t, 0, code)
	require.Equal(t, "ops\n", stdout)
	code, stdout, _ = runTool(t, "--config.dir", dir, "routes", "show")
	require.Equal(t, 0, code)
	require.Equal(t, "default-route  receiver: ops\n└── {service=\"postgres\"}  receiver: db\n", stdout)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte("route: {receiver: nobody}\nreceivers: [{name: ops}]\n"), 0o644))
	code, stdout, stderr = runTool(t, "routes", "show", "--config.dir", dir)
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "routes show: load "+filepath.Join(dir, "alertmanager.yml")+": ")
	require.Contains(t, stderr, `"nobody"`)
}

func TestRoutesShow(t *testing.T) {
	want, err := os.ReadFile("../../alerting/routes/testdata/shipped.golden")
	require.NoError(t, err)
	for _, args := range [][]string{{"routes", "show"}, {"routes"}} {
		code, stdout, stderr := runTool(t, args...)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, string(want), stdout)
	}
}

func TestTestRules(t *testing.T) {
	const testdata = "../../alerting/ruletest/testdata/"
	code, stdout, stderr := runTool(t, "test", "rules", testdata+"pass.good.yml", "../../configs/rules/tests/connectors_test.yml")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "Unit Testing: "+testdata+"pass.good.yml\n  SUCCESS\n\n"+
		"Unit Testing: ../../configs/rules/tests/connectors_test.yml\n  SUCCESS\n\n", stdout)
	require.Empty(t, stderr)

	code, stdout, stderr = runTool(t, "test", "rules", testdata+"wrong_label.bad.yml")
	require.Equal(t, 1, code)
	require.Equal(t, "Unit Testing: "+testdata+"wrong_label.bad.yml\n\n", stdout)
	require.Contains(t, stderr, "  FAILED:\n    name: InstanceDown with the wrong severity,\n    alertname: InstanceDown, time: 3m,\n")
	require.Contains(t, stderr, `label severity: expected "warning", got "critical"`)

	code, _, stderr = runTool(t, "test", "rules", testdata+"no-such-file.yml")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "no such file or directory")

	code, _, stderr = runTool(t, "test", "rules")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "required argument 'test-rule-file' not provided")
}

// TestDocsAlertsUpToDate regenerates the alert reference and compares it with
// the committed docs/alerts.md.
func TestDocsAlertsUpToDate(t *testing.T) {
	code, stdout, stderr := runTool(t, "docs", "alerts")
	require.Equal(t, 0, code, stderr)
	committed, err := os.ReadFile("../../docs/alerts.md")
	require.NoError(t, err, "run: %s", alertdocs.Command)
	require.Equal(t, string(committed), stdout, "docs/alerts.md is out of date; run: %s", alertdocs.Command)

	// The environment does not change the reference.
	t.Setenv("PAGERDUTY_INTEGRATION_KEY", "0123456789abcdef0123456789abcdef")
	t.Setenv("SMM_TIMEZONE", "Europe/Berlin")
	out := filepath.Join(t.TempDir(), "alerts.md")
	code, stdout, stderr = runTool(t, "docs", "alerts", "--out", out)
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stdout)
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, string(committed), string(written))
	require.Equal(t, 39, strings.Count(string(written), "\n| smm_"))
}
