package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// netLab is a bridge in the test's network namespace with one network
// namespace per appliance behind it: real separate network stacks on one
// host, which the test can cut apart with blackhole routes.
type netLab struct {
	t      *testing.T
	bridge string
	hostIP string   // the bridge's address: exporters and receivers listen here
	ns     []string // one namespace per node
	ips    []string
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newNetLab makes n namespaces on a fresh bridge, or skips the test where
// namespaces cannot be made (not root, no iproute2).
func newNetLab(t *testing.T, n int) *netLab {
	t.Helper()
	id := os.Getpid() % 10000
	subnet := fmt.Sprintf("10.213.%d", id%250)
	l := &netLab{t: t, bridge: fmt.Sprintf("smmr%db", id), hostIP: subnet + ".1"}
	if err := ipCmd("link", "add", l.bridge, "type", "bridge"); err != nil {
		t.Skipf("cannot create network namespaces here (needs root and iproute2): %v", err)
	}
	t.Cleanup(func() {
		for _, ns := range l.ns {
			_ = ipCmd("netns", "del", ns)
		}
		_ = ipCmd("link", "del", l.bridge)
	})
	must := func(args ...string) { require.NoError(t, ipCmd(args...)) }
	must("addr", "add", l.hostIP+"/24", "dev", l.bridge)
	must("link", "set", l.bridge, "up")
	for i := range n {
		ns, host, peer := fmt.Sprintf("smmr%d-%d", id, i), fmt.Sprintf("smmr%dh%d", id, i), fmt.Sprintf("smmr%dn%d", id, i)
		ip := fmt.Sprintf("%s.%d", subnet, 10+i)
		must("netns", "add", ns)
		l.ns, l.ips = append(l.ns, ns), append(l.ips, ip)
		must("link", "add", host, "type", "veth", "peer", "name", peer)
		must("link", "set", peer, "netns", ns)
		must("link", "set", host, "master", l.bridge)
		must("link", "set", host, "up")
		must("-n", ns, "addr", "add", ip+"/24", "dev", peer)
		must("-n", ns, "link", "set", peer, "up")
		must("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

// isolate cuts node i off from the other nodes (not from the host, where
// targets and receivers are), or heals the cut.
func (l *netLab) isolate(i int, cut bool) {
	l.t.Helper()
	op := "add"
	if !cut {
		op = "del"
	}
	for j := range l.ns {
		if j == i {
			continue
		}
		require.NoError(l.t, ipCmd("-n", l.ns[i], "route", op, "blackhole", l.ips[j]+"/32"))
		require.NoError(l.t, ipCmd("-n", l.ns[j], "route", op, "blackhole", l.ips[i]+"/32"))
	}
}

// serveOn serves h on ip as well, so processes in the namespaces reach it.
func serveOn(t *testing.T, ip string, h http.Handler) string {
	ln, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// startApplianceIn runs the binary inside namespace ns on ip, with fixed
// ports (the namespace is its own).
func startApplianceIn(t *testing.T, ns, ip, configDir, dataDir string, env map[string]string, args ...string) *appliance {
	t.Helper()
	web, am := ip+":9090", ip+":9093"
	argv := append([]string{"netns", "exec", ns, binary,
		"--storage.path", dataDir, "--config.dir", configDir,
		"--web.listen-address", web, "--alertmanager.listen-address", am, "--log.level", "debug",
	}, args...)
	cmd := exec.Command("ip", argv...) // ip execs the binary: the pid is the appliance's
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	a := &appliance{t: t, cmd: cmd, web: "http://" + web, am: "http://" + am, dataDir: dataDir, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = a.logs, a.logs
	require.NoError(t, cmd.Start())
	go func() { a.exitErr = cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			t.Logf("appliance %s logs:\n%s", ns, tail(a.logs.String(), 40))
		}
	})
	waitFor(t, 30*time.Second, "appliance ready in "+ns, func() bool {
		select {
		case <-a.exited:
			t.Fatalf("appliance in %s exited during start: %v\n%s", ns, a.exitErr, a.logs.String())
		default:
		}
		code, _ := httpGet(a.web + "/-/ready")
		return code == http.StatusOK
	})
	return a
}

// TestReliabilityPartition: three appliances in their own network
// namespaces form one gossip cluster. One node is cut off from the other
// two (not from targets and receivers): both sides keep notifying — one
// notification per side, at least once overall — and a silence made on the
// cut-off node reaches the others once the cut heals, after which the
// notification logs have converged (no further duplicates).
func TestReliabilityPartition(t *testing.T) {
	lab := newNetLab(t, 3)
	exp, hook := newExporter(t), newWebhook(t)
	env := basicEnv(exp, hook)
	env["E2E_EXPORTER"] = serveOn(t, lab.hostIP, exp.srv.Config.Handler)
	env["E2E_WEBHOOK_URL"] = "http://" + serveOn(t, lab.hostIP, hook.srv.Config.Handler) + "/hook"
	cfg := copyConfig(t, "basic")
	common := []string{"--cluster.peer-timeout=3s", "--cluster.settle-timeout=3s", "--cluster.pushpull-interval=5s", "--cluster.peer=" + lab.ips[0] + ":9094"}
	var nodes []*appliance
	for i := range lab.ns {
		c := lab.ips[i] + ":9094"
		nodes = append(nodes, startApplianceIn(t, lab.ns[i], lab.ips[i], cfg, t.TempDir(), env,
			append(common, "--cluster.listen-address="+c, "--cluster.advertise-address="+c)...))
	}
	peersAre := func(want ...int) func() bool {
		return func() bool {
			for i, n := range nodes {
				if clusterPeers(t, n) != want[i] {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, 45*time.Second, "three peers on every node", peersAre(3, 3, 3))

	// Cut node 2 off.
	cut := 2
	lab.isolate(cut, true)
	partitioned := time.Now()
	waitFor(t, 60*time.Second, "the cluster to see the partition", peersAre(2, 2, 1))
	detected := time.Since(partitioned)

	// A silence on the cut-off side, and an alert both sides notify.
	now := time.Now().UTC()
	code, body := postJSON(t, nodes[cut].am+"/api/v2/silences", map[string]any{
		"matchers": []map[string]any{{"name": "alertname", "value": "E2ENothing", "isRegex": false, "isEqual": true}},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "partition", "comment": "made on the cut-off node",
	})
	require.Equal(t, http.StatusOK, code, string(body))
	exp.set("e2e_second", 99)
	waitFor(t, 30*time.Second, "notifications from both sides", func() bool { return len(hook.matching("E2ESecond", "firing")) >= 2 })
	time.Sleep(8 * time.Second) // past every node's turn (2 × 3 s)
	duringPartition := len(hook.matching("E2ESecond", "firing"))
	require.Equal(t, 2, duringPartition, "one notification per side of the partition")
	sent := timedHistory(t, nodes[cut], url.Values{"receiver": {"webhook"}, "status": {"success"}})
	require.NotEmpty(t, sent, "the cut-off node did not deliver itself")

	// Heal: the cluster re-forms, the silence spreads, the logs converge.
	lab.isolate(cut, false)
	healed := time.Now()
	waitFor(t, 60*time.Second, "three peers again", peersAre(3, 3, 3))
	rejoined := time.Since(healed)
	for _, n := range nodes[:cut] {
		waitFor(t, 30*time.Second, "silence made during the partition on every node", func() bool {
			var sils []any
			getJSON(t, n.am+"/api/v2/silences", &sils)
			return len(sils) == 1
		})
	}
	converged := time.Since(healed)
	time.Sleep(8 * time.Second)
	require.Equal(t, duringPartition, len(hook.matching("E2ESecond", "firing")), "firing notification repeated after the heal")
	exp.set("e2e_second", 0)
	waitFor(t, 30*time.Second, "resolved notification", func() bool { return len(hook.matching("E2ESecond", "resolved")) > 0 })
	time.Sleep(8 * time.Second)
	resolved := len(hook.matching("E2ESecond", "resolved"))
	// Gossip is at-least-once: right after a heal the peers' notification
	// logs may still be merging, so the second peer in line can send the
	// resolution too (seen once in CI under load). More than one copy per
	// side would be a real fault.
	require.GreaterOrEqual(t, resolved, 1)
	require.LessOrEqual(t, resolved, 2, "resolved notification sent more than once per side after the heal")

	t.Logf("partition of 1 of 3 nodes (blackhole routes between network namespaces): detected in %s; firing notification delivered %d× (once per side, the cut-off node delivered on its own); healed: 3 peers again in %s, silence made on the cut-off node on all nodes after %s, no repeat after the heal, resolved delivered %d×",
		detected.Round(100*time.Millisecond), duringPartition, rejoined.Round(100*time.Millisecond), converged.Round(100*time.Millisecond), resolved)
}
