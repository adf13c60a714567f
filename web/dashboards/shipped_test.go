package dashboards

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/configs"
)

// TestShippedDashboardsParse: every embedded dashboard is valid, and there is
// one per seed category plus the appliance's own.
func TestShippedDashboardsParse(t *testing.T) {
	ds, err := ParseFS(configs.FS)
	require.NoError(t, err)
	var uids []string
	for _, d := range ds {
		uids = append(uids, d.UID)
	}
	require.ElementsMatch(t, []string{"smm-connectors", "smm-budget", "smm-agents", "smm-simulation", "smm-canary",
		"smm-infrastructure", "smm-security", "smm-business", "smm-appliance"}, uids)
	require.NoError(t, Check(ds))
}
