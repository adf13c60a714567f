package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
)

// escalationAM routes the chains of chainsYML: one route per chain step,
// matched on the copies' labels, before the team routes.
const escalationAM = `route:
  receiver: team
  routes:
    - matchers: ['escalated="true"', 'escalation_chain="critical-database"', 'escalation_step="1"']
      receiver: database-secondary
    - matchers: ['escalated="true"', 'escalation_step="2"']
      receiver: engineering-manager
    - matchers: ['escalated="true"']
      receiver: escalation
receivers:
  - name: team
  - name: database-secondary
  - name: engineering-manager
  - name: escalation
`

const chainsYML = `escalation:
  chains:
    - name: critical-database
      matchers: ['severity="critical"', 'team="database"']
      steps:
        - after: 10m
          receiver: database-secondary
        - after: 30m
          receiver: engineering-manager
    - name: critical
      matchers: ['severity="critical"']
      steps:
        - after: 30m
          receiver: escalation
`

func loadSet(t *testing.T, am, appliance string) (*configfiles.Set, error) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		configfiles.PrometheusFile:   "global:\n  scrape_interval: 15s\n",
		configfiles.AlertmanagerFile: am,
		configfiles.ApplianceFile:    appliance,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	return configfiles.Loader{Sources: configfiles.Sources{Dir: dir, EmbeddedDir: t.TempDir()}}.Load()
}

// TestEscalationConfig: every chain's steps are checked against
// alertmanager.yml, for the receiver (with the line) and for a route that
// takes the step's copies to it.
func TestEscalationConfig(t *testing.T) {
	cases := []struct {
		name, am, appliance string
		loadErr, routeErr   []string
	}{
		{name: "chains routed", am: escalationAM, appliance: chainsYML},
		{name: "flat format routed", am: escalationAM, appliance: "escalation:\n  steps:\n    - after: 30m\n      matchers: ['severity=\"critical\"']\n      receiver: escalation\n"},
		{
			name: "unknown receiver", am: escalationAM,
			appliance: chainsYML + "    - name: warning\n      matchers: ['severity=\"warning\"']\n      steps:\n        - after: 2h\n          receiver: tickets\n",
			loadErr:   []string{"appliance.yml", "line 19", `escalation.chains[2].steps[0].receiver`, `receiver "tickets" is not defined`},
		},
		{
			// The database chain's first step has no route of its own: its
			// copies would reach the catch-all escalation route, not the
			// secondary on-call.
			name:      "chain step not routed to its receiver",
			am:        escalationAM[:len("route:\n  receiver: team\n  routes:\n")] + escalationAM[len("route:\n  receiver: team\n  routes:\n")+len("    - matchers: ['escalated=\"true\"', 'escalation_chain=\"critical-database\"', 'escalation_step=\"1\"']\n      receiver: database-secondary\n"):],
			appliance: chainsYML,
			routeErr:  []string{"appliance.yml", `escalation chain "critical-database" step 1 sends to receiver "database-secondary"`, `escalation_chain="critical-database"`, "[escalation]", "add a route"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := loadSet(t, c.am, c.appliance)
			if c.loadErr != nil {
				require.Error(t, err)
				for _, s := range c.loadErr {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			err = checkEscalationRoutes(set)
			if c.routeErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, s := range c.routeErr {
				require.ErrorContains(t, err, s)
			}
		})
	}
}

// TestEscalationStatus: the status API lists the chains in order.
func TestEscalationStatus(t *testing.T) {
	set, err := loadSet(t, escalationAM, chainsYML)
	require.NoError(t, err)
	got := escalationStatus(set.Appliance.Escalation)
	require.Equal(t, "15s", got["checkInterval"])
	chains := got["chains"].([]map[string]any)
	require.Len(t, chains, 2)
	require.Equal(t, "critical-database", chains[0]["name"])
	require.Equal(t, []string{`severity="critical"`, `team="database"`}, chains[0]["matchers"])
	require.Equal(t, []map[string]any{
		{"step": 1, "after": "10m", "receiver": "database-secondary"},
		{"step": 2, "after": "30m", "receiver": "engineering-manager"},
	}, chains[0]["steps"])
	// The flat list earlier versions answered, for existing readers.
	flat := got["steps"].([]map[string]any)
	require.Len(t, flat, 3)
	require.Equal(t, map[string]any{"chain": "critical", "step": 1, "after": "30m", "receiver": "escalation", "matchers": []string{`severity="critical"`}}, flat[2])
}

// TestShippedEscalation: the shipped default is the seed's (critical, 30
// minutes, the manager's receiver "escalation") and its routes take it
// there.
func TestShippedEscalation(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, configfiles.Materialize(configs.FS, dir))
	set, err := configfiles.Loader{Sources: configfiles.Sources{EmbeddedDir: dir}, Lookup: func(string) (string, bool) { return "", false }}.Load()
	require.NoError(t, err)
	require.NoError(t, checkEscalationRoutes(set))
	got := escalationStatus(set.Appliance.Escalation)["chains"]
	require.Equal(t, []map[string]any{{
		"name": "critical", "matchers": []string{`severity="critical"`},
		"steps": []map[string]any{{"step": 1, "after": "30m", "receiver": "escalation"}},
	}}, got)
}

// docBlocks returns the fenced blocks of docs/escalation.md tagged
// "```yaml file=NAME" or "```yaml snippet=NAME", by NAME.
func docBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../docs/escalation.md")
	require.NoError(t, err)
	out := map[string]string{}
	var name string
	var body strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case name == "" && (strings.HasPrefix(line, "```yaml file=") || strings.HasPrefix(line, "```yaml snippet=")):
			_, name, _ = strings.Cut(line, "=")
			body.Reset()
		case name != "" && line == "```":
			out[name] = body.String()
			name = ""
		case name != "":
			body.WriteString(line + "\n")
		}
	}
	return out
}

// TestEscalationDocExample: the multi-step example of docs/escalation.md,
// added to the shipped alertmanager.yml as the page says, loads and routes
// each step to its receiver; without its route it is refused with the
// error the page shows.
func TestEscalationDocExample(t *testing.T) {
	blocks := docBlocks(t)
	for _, k := range []string{"appliance.yml", "receivers", "routes"} {
		require.Contains(t, blocks, k, "docs/escalation.md lost its %s block", k)
	}
	shipped, err := configs.FS.ReadFile("alertmanager.yml")
	require.NoError(t, err)
	insert := func(text, after, block string) string {
		i := strings.Index(text, after)
		require.GreaterOrEqual(t, i, 0, "%q not in the shipped alertmanager.yml", after)
		return text[:i+len(after)] + block + text[i+len(after):]
	}
	load := func(t *testing.T, am string) (*configfiles.Set, error) {
		dir := t.TempDir()
		require.NoError(t, configfiles.Materialize(configs.FS, dir))
		require.NoError(t, os.WriteFile(filepath.Join(dir, configfiles.AlertmanagerFile), []byte(am), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, configfiles.ApplianceFile), []byte(blocks["appliance.yml"]), 0o644))
		return configfiles.Loader{Sources: configfiles.Sources{Dir: dir, EmbeddedDir: t.TempDir()}, Lookup: func(string) (string, bool) { return "", false }}.Load()
	}
	withReceiver := insert(string(shipped), "\nreceivers:\n", blocks["receivers"])

	t.Run("as documented", func(t *testing.T) {
		set, err := load(t, insert(withReceiver, "\n  routes:\n", blocks["routes"]))
		require.NoError(t, err)
		require.NoError(t, checkEscalationRoutes(set))
		ch := set.Appliance.Escalation.Chains
		require.Len(t, ch, 2)
		require.Equal(t, "critical-database", ch[0].Name)
	})
	t.Run("without the route", func(t *testing.T) {
		set, err := load(t, withReceiver)
		require.NoError(t, err)
		err = checkEscalationRoutes(set)
		require.Error(t, err)
		require.Contains(t, strings.Join(strings.Fields(err.Error()), " "),
			`escalation chain "critical-database" step 1 sends to receiver "database-secondary", but`)
		require.Contains(t, err.Error(), `escalation_step="1") to [escalation]; add a route for them`)
	})
	t.Run("without the receiver", func(t *testing.T) {
		_, err := load(t, string(shipped))
		require.ErrorContains(t, err, `line 8: escalation.chains[0].steps[0].receiver: chain "critical-database": receiver "database-secondary" is not defined`)
	})
}
