package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSignalsDuringWALReplay: after kill -9 with 100k series in the head,
// the restart replays the WAL. A SIGHUP during the replay (systemctl reload
// sends one) neither kills the appliance nor is lost, and a SIGTERM during
// the replay stops it cleanly (exit 0) with the TSDB closed: a third start
// has every series.
func TestSignalsDuringWALReplay(t *testing.T) {
	sim := startSimulator(t, "--series", strconv.Itoa(scaleSeries), "--series.targets", strconv.Itoa(scaleTargets))
	cfg := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "prometheus.yml"), []byte(strings.Replace(scaleConfig, "5s", "1s", 2)), 0o644))
	sim.writeTargets(t, filepath.Join(cfg, "targets", "bench.json"), func(job string) bool { return job == "smm-bench" })
	data := t.TempDir()

	a := startAppliance(t, cfg, data, nil)
	waitFor(t, 3*time.Minute, "100k synthetic series queryable", func() bool {
		r := query(t, a, `count(smm_bench_series_value)`, time.Time{})
		return len(r) == 1 && r[0].Value[1] == strconv.Itoa(scaleSeries)
	})
	// More scrapes, so that the WAL holds twenty samples per series and its
	// replay lasts long enough to signal during it.
	time.Sleep(20 * time.Second)
	before := time.Now()
	a.kill()

	healthy := func(b *appliance) bool {
		code, _ := httpGet(b.web + "/-/healthy")
		return code == http.StatusOK
	}
	b := startApplianceReady(t, cfg, data, nil, healthy)
	// Replaying: the log says so and /-/ready names the storage.
	waitFor(t, 10*time.Second, "the WAL replay to start", func() bool { return strings.Contains(b.logs.String(), "Replaying WAL") })
	code, body := httpGet(b.web + "/-/ready")
	require.Equal(t, http.StatusServiceUnavailable, code, "replay already over; the WAL is too small for this test")
	require.Contains(t, string(body), "storage")

	require.NoError(t, b.cmd.Process.Signal(syscall.SIGHUP))
	time.Sleep(100 * time.Millisecond) // Go's default action for SIGHUP would have killed by now
	select {
	case <-b.exited:
		t.Fatalf("SIGHUP during the WAL replay killed the appliance: %v", b.exitErr)
	default:
	}
	code, body = httpGet(b.web + "/-/ready")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, string(body), "storage", "the signals must land during the replay")

	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-b.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("no exit within 2 minutes of SIGTERM during the replay")
	}
	require.NoError(t, b.exitErr, "exit status after SIGTERM during the replay")
	logs := b.logs.String()
	require.Contains(t, logs, "stopping on request")
	require.NotContains(t, logs, "initial configuration", "a configuration failure instead of a clean stop")
	t.Logf("second start, stopped during the replay:\n%s", tail(logs, 15))

	// The TSDB was closed cleanly: the third start has every series. A
	// SIGHUP sent during its replay is carried out once the replay is over.
	start := time.Now()
	c := startApplianceReady(t, cfg, data, nil, healthy)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 2*time.Minute, "ready after the replay", func() bool {
		code, _ := httpGet(c.web + "/-/ready")
		return code == http.StatusOK
	})
	t.Logf("restart with %d series in the WAL: ready %s after exec", scaleSeries, time.Since(start).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "the reload asked for during the replay", func() bool {
		return strings.Contains(c.logs.String(), "by=signal")
	})
	r := query(t, c, `count(smm_bench_series_value)`, before.Add(-3*time.Second))
	require.Len(t, r, 1)
	require.Equal(t, strconv.Itoa(scaleSeries), r[0].Value[1])
}
