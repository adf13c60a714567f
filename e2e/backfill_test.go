package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freePortRange finds n consecutive free ports on 127.0.0.1 (the simulator's
// jobs listen on base, base+1, ...; a backfill's instance labels name them).
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(40000)
		ok := true
		var ls []net.Listener
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// TestBackfill: the simulator writes 24 h of history into a fresh data
// directory before serving; the appliance started on it then answers a
// [24h] query of a simulator metric with ~24 h of samples, the live scrape
// continues the same series without a counter reset or an out-of-order
// rejection, and a second backfill into the same directory is skipped.
func TestBackfill(t *testing.T) {
	data := t.TempDir()
	base := freePortRange(t, 11)
	start := time.Now()
	sim := exec.Command(simulatorBinary(t), "--listen.base-port", strconv.Itoa(base), "--control.listen-address", "127.0.0.1:0",
		"--backfill.tsdb-path", filepath.Join(data, "tsdb"), "--backfill.duration", "24h")
	logs := &syncBuffer{}
	sim.Stdout, sim.Stderr = logs, logs
	require.NoError(t, sim.Start())
	exited := make(chan struct{})
	go func() { _ = sim.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = sim.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("simulator logs:\n%s", tail(logs.String(), 40))
		}
	})
	var control string
	waitFor(t, 60*time.Second, "simulator to backfill and serve", func() bool {
		if m := controlAddrRE.FindStringSubmatch(logs.String()); m != nil {
			control = "http://" + m[1]
			code, _ := httpGet(control + "/-/healthy")
			return code == 200
		}
		return false
	})
	took := time.Since(start)
	require.Contains(t, logs.String(), "backfilled history")
	t.Logf("backfill and start took %s", took.Round(time.Millisecond))
	require.Less(t, took, 30*time.Second, "backfilling 24 h must take under 30 s")

	s := &simulatorProc{control: control}
	cfg := copyConfig(t, "scenarios")
	s.writeTargets(t, filepath.Join(cfg, "targets", "simulator.json"), nil)
	a := startAppliance(t, cfg, data, nil)

	const series = `smm_http_requests_total{job="smm-api",handler="/api/v1/posts",code="200"}`
	// The history: one sample a minute for 24 h (1440), plus the live ones.
	res := query(t, a, "count_over_time("+series+"[24h])", time.Time{})
	require.Len(t, res, 1)
	n, err := strconv.ParseFloat(res[0].Value[1].(string), 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1400.0, "samples of the last 24 h")
	res = query(t, a, "timestamp("+series+")", time.Now().Add(-23*time.Hour-50*time.Minute))
	require.Len(t, res, 1, "data 23h50m ago")

	// The live scrape takes over: newer samples than the backfill's last,
	// the counter never reset, nothing refused.
	waitFor(t, 20*time.Second, "live samples after the backfill", func() bool {
		res := query(t, a, "count_over_time("+series+"[24h])", time.Time{})
		if len(res) != 1 {
			return false
		}
		m, _ := strconv.ParseFloat(res[0].Value[1].(string), 64)
		return m >= n+3
	})
	// A histogram's buckets are one series across the boundary too: the
	// backfill writes le as the scrape stores it ("1.0", not "1").
	waitFor(t, 10*time.Second, "a bucket series with backfilled and scraped samples", func() bool {
		res := query(t, a, `count(count_over_time(smm_connector_request_duration_seconds_bucket{le="1.0"}[24h]) > 1400 and smm_connector_request_duration_seconds_bucket{le="1.0"})`, time.Time{})
		return len(res) == 1 && res[0].Value[1] != "0"
	})
	require.Empty(t, query(t, a, `smm_connector_request_duration_seconds_bucket{le="1"}`, time.Now().Add(-12*time.Hour)), "no series with the unnormalized le")
	res = query(t, a, "resets("+series+"[24h])", time.Time{})
	require.Len(t, res, 1)
	require.Equal(t, "0", res[0].Value[1], "the live run continues the backfilled counter")
	for _, bad := range []string{"out of order", "out of bounds", "too old"} {
		require.NotContains(t, strings.ToLower(a.logs.String()), bad)
	}

	// A directory with data is not backfilled again.
	a.stop()
	again := exec.Command(simulatorBinary(t), "--listen.base-port", "0", "--control.listen-address", "127.0.0.1:0",
		"--backfill.tsdb-path", filepath.Join(data, "tsdb"))
	out := &syncBuffer{}
	again.Stdout, again.Stderr = out, out
	require.NoError(t, again.Start())
	defer func() { _ = again.Process.Signal(syscall.SIGTERM); _ = again.Wait() }()
	waitFor(t, 20*time.Second, "second simulator to start", func() bool { return strings.Contains(out.String(), "simulator started") })
	require.Contains(t, out.String(), "backfill skipped", fmt.Sprint(out.String()))
}
