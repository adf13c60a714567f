package dashboards

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/configs"
)

// TestShippedDashboardsParse: every embedded dashboard is valid, and there is
// one per seed category plus the appliance's own.
func TestShippedDashboardsParse(t *testing.T) {
	ds := shipped(t)
	var uids []string
	for _, d := range ds {
		uids = append(uids, d.UID)
	}
	require.ElementsMatch(t, []string{"smm-connectors", "smm-budget", "smm-agents", "smm-simulation", "smm-canary",
		"smm-infrastructure", "smm-security", "smm-business", "smm-appliance"}, uids)
	require.NoError(t, Check(ds))
}

func shipped(t *testing.T) []*Dashboard {
	t.Helper()
	names, err := fs.Glob(configs.FS, "dashboards/*.yml")
	require.NoError(t, err)
	var ds []*Dashboard
	for _, n := range names {
		b, err := fs.ReadFile(configs.FS, n)
		require.NoError(t, err)
		d, err := Parse(n, b)
		require.NoError(t, err)
		ds = append(ds, d)
	}
	return ds
}
