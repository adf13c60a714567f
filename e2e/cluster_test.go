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

// holds requires cond to stay true for d, checking it as the webhook
// receives: a duplicate fails the test when it arrives, not after a sleep.
// An absence can only be shown over a window; d is the cluster's longest
// wait (the last peer's turn plus group intervals).
func holds(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		require.True(t, cond(), "not %s", what)
	}
	require.True(t, cond(), "not %s", what)
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
	// Past the last peer's turn (2 × 3 s) and a few group intervals.
	holds(t, 12*time.Second, "each notification delivered once by the cluster", func() bool { return len(hook.matching("E2EHighValue", "firing")) == 1 })

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
	holds(t, 10*time.Second, "silence holding on every node", func() bool { return len(hook.matching("E2ESecond", "firing")) == 0 })

	// The first node dies; the others still deliver (the resolution).
	nodes[0].kill()
	exp.set("e2e_value", 0)
	waitFor(t, 60*time.Second, "resolved notification from the surviving nodes", func() bool { return len(hook.matching("E2EHighValue", "resolved")) > 0 })
	holds(t, 8*time.Second, "one resolved notification", func() bool { return len(hook.matching("E2EHighValue", "resolved")) == 1 })
}
