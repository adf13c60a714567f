package simulator

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

type goldenMetric struct {
	job, name, typ, labels string
}

func readGolden(t *testing.T) []goldenMetric {
	t.Helper()
	f, err := os.Open("testdata/metrics.golden")
	require.NoError(t, err)
	defer f.Close()
	var out []goldenMetric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		require.Len(t, f, 4, "golden line %q", line)
		out = append(out, goldenMetric{f[0], f[1], f[2], f[3]})
	}
	require.NoError(t, sc.Err())
	return out
}

// TestSpecMetrics scrapes every job over HTTP and checks each metric of the spec's
// contract for presence, type and label names.
func TestSpecMetrics(t *testing.T) {
	h := startHarness(t, nil)
	snaps := map[string]snapshot{}
	for _, job := range JobNames {
		snaps[job] = h.snap(job)
		require.Equal(t, 200, snaps[job].status, job)
	}
	for _, g := range readGolden(t) {
		t.Run(g.job+"/"+g.name, func(t *testing.T) {
			mf := snaps[g.job].mfs[g.name]
			require.NotNil(t, mf, "metric missing")
			require.Equal(t, g.typ, strings.ToLower(mf.GetType().String()))
			require.NotEmpty(t, mf.GetMetric())
			for _, m := range mf.GetMetric() {
				require.Equal(t, g.labels, labelNames(m))
			}
		})
	}
}

func labelNames(m *dto.Metric) string {
	var names []string
	for _, lp := range m.GetLabel() {
		names = append(names, lp.GetName())
	}
	if len(names) == 0 {
		return "-"
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// TestFleet checks that the fleet flags size the label sets.
func TestFleet(t *testing.T) {
	h := startHarness(t, func(o *Options) {
		o.Fleet = Fleet{Connectors: 14, Agents: 3, Workspaces: 120, Campaigns: 3, Users: 7}
	})
	conn := byKey(h.snap(JobConnectors).mfs, "smm_connector_up")
	require.Len(t, conn, 14)
	require.Contains(t, conn, "connector=linkedin")
	require.Contains(t, conn, "connector=connector-14")
	require.Len(t, byKey(h.snap(JobAgents).mfs, "smm_agent_queue_depth"), 3)
	require.Len(t, byKey(h.snap(JobBudget).mfs, "smm_budget_spent_dollars"), 360)
	require.Len(t, byKey(h.snap(JobAPI).mfs, "smm_user_requests_total"), 7)
	require.Len(t, byKey(h.snap(JobPublisher).mfs, "smm_publish_attempts_total", "outcome"), 14)
}
