package routes

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
)

func TestUnknownTeams(t *testing.T) {
	route := shipped(t).Route
	for team, known := range map[string]bool{
		"platform": true, "connector": true, "agent": true, "ml": true, "finance": true,
		"database": true, "security": true, "business": true, "marketing": false, "": false,
	} {
		require.Equal(t, known, KnowsTeam(route, team), "team %q", team)
	}

	// The shipped rules all name a known team.
	dir := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, configfiles.Materialize(configs.FS, dir))
	shippedRules, err := filepath.Glob(filepath.Join(dir, "rules", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, shippedRules)
	warnings, err := UnknownTeams(route, shippedRules)
	require.NoError(t, err)
	require.Empty(t, warnings)

	custom := filepath.Join(t.TempDir(), "custom.yml")
	require.NoError(t, os.WriteFile(custom, []byte(`groups:
  - name: custom
    rules:
      - alert: CustomKnown
        expr: vector(1)
        labels: {severity: warning, team: connector, service: smm-connectors}
      - alert: CustomUnknown
        expr: vector(1)
        labels: {severity: warning, team: marketing, service: smm-api}
      - alert: CustomNoTeam
        expr: vector(1)
        labels: {severity: warning}
      - record: custom:up
        expr: vector(1)
`), 0o644))
	warnings, err = UnknownTeams(route, []string{custom})
	require.NoError(t, err)
	require.Len(t, warnings, 2)
	require.Contains(t, warnings[0], `rule CustomUnknown (`+custom+`, group custom): no route knows team "marketing"`)
	require.Contains(t, warnings[1], "rule CustomNoTeam")
}
