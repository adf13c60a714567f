package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func clusterPeers(t *testing.T, a *appliance) int {
	var st struct {
		Cluster struct {
			Peers []any `json:"peers"`
		} `json:"cluster"`
	}
	code, _ := httpGet(a.am + "/api/v2/status")
	if code != http.StatusOK {
		return 0
	}
	getJSON(t, a.am+"/api/v2/status", &st)
	return len(st.Cluster.Peers)
}

// TestHATrio: three appliances in one Alertmanager gossip cluster, all
// evaluating the same rules over the same target, send each notification
// once; a silence made on one holds on all; with the first node killed the
// others still deliver.
func TestHATrio(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	env := basicEnv(exp, hook)
	seed := freePort(t)
	common := []string{"--cluster.peer-timeout=3s", "--cluster.settle-timeout=3s", "--cluster.pushpull-interval=5s", "--cluster.peer=" + seed}
	nodes := []*appliance{startAppliance(t, cfg, t.TempDir(), env, append(common, "--cluster.listen-address="+seed)...)}
	for range 2 {
		nodes = append(nodes, startAppliance(t, cfg, t.TempDir(), env, append(common, "--cluster.listen-address="+freePort(t))...))
	}
	waitFor(t, 30*time.Second, "three peers on every node", func() bool {
		for _, n := range nodes {
			if clusterPeers(t, n) != 3 {
				return false
			}
		}
		return true
	})

	// One alert, three evaluators, one notification.
	exp.set("e2e_value", 42)
	waitFor(t, 30*time.Second, "firing notification", func() bool { return len(hook.matching("E2EHighValue", "firing")) > 0 })
	time.Sleep(12 * time.Second) // past the last peer's turn (2 × 3 s) and a few group intervals
	require.Len(t, hook.matching("E2EHighValue", "firing"), 1, "each notification must be delivered once by the cluster")

	// A silence created on node 1 reaches the others and holds there.
	now := time.Now().UTC()
	code, body := postJSON(t, nodes[1].am+"/api/v2/silences", map[string]any{
		"matchers":  []map[string]any{{"name": "alertname", "value": "E2ESecond", "isRegex": false, "isEqual": true}},
		"startsAt":  now.Format(time.RFC3339),
		"endsAt":    now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "ha", "comment": "cluster-wide",
	})
	require.Equal(t, http.StatusOK, code, string(body))
	for _, n := range []*appliance{nodes[0], nodes[2]} {
		waitFor(t, 15*time.Second, "silence replicated", func() bool {
			var sils []any
			getJSON(t, n.am+"/api/v2/silences", &sils)
			return len(sils) == 1
		})
	}
	exp.set("e2e_second", 99)
	waitFor(t, 15*time.Second, "E2ESecond firing in rules", func() bool { return promAlertState(t, nodes[2], "E2ESecond") == "firing" })
	time.Sleep(10 * time.Second)
	require.Empty(t, hook.matching("E2ESecond", "firing"), "silence did not hold on every node")

	// The first node dies; the others still deliver (the resolution).
	nodes[0].kill()
	exp.set("e2e_value", 0)
	waitFor(t, 60*time.Second, "resolved notification from the surviving nodes", func() bool { return len(hook.matching("E2EHighValue", "resolved")) > 0 })
	time.Sleep(8 * time.Second)
	require.Len(t, hook.matching("E2EHighValue", "resolved"), 1, "resolved notification duplicated")
}
