package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// upstreamBinary is an upstream Prometheus with a remote-write receiver:
// $PROMETHEUS_BIN, else Debian's package (make test-reliability installs
// it).
func upstreamBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("PROMETHEUS_BIN")
	if bin == "" {
		bin = "/usr/bin/prometheus"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no upstream Prometheus at %s (set PROMETHEUS_BIN or `apt-get install prometheus`; make test-reliability installs it): %v", bin, err)
	}
	return bin
}

// upstream is a running upstream Prometheus used as the remote store.
type upstream struct {
	t         *testing.T
	bin, addr string
	dir, cfg  string
	cmd       *exec.Cmd
	logs      *syncBuffer
	exited    chan struct{}
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{t: t, bin: upstreamBinary(t), addr: freePort(t), dir: t.TempDir()}
	u.cfg = filepath.Join(u.dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(u.cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644))
	u.start()
	t.Cleanup(func() {
		u.stop()
		if t.Failed() {
			t.Logf("upstream prometheus logs:\n%s", tail(u.logs.String(), 40))
		}
	})
	return u
}

func (u *upstream) url() string { return "http://" + u.addr }

// start runs the upstream on its port and data directory and waits until it
// is ready.
func (u *upstream) start() {
	u.t.Helper()
	u.cmd = exec.Command(u.bin,
		"--config.file", u.cfg,
		"--storage.tsdb.path", filepath.Join(u.dir, "data"),
		"--web.listen-address", u.addr,
		"--web.enable-remote-write-receiver",
		"--log.level", "warn",
	)
	if u.logs == nil {
		u.logs = &syncBuffer{}
	}
	u.cmd.Stdout, u.cmd.Stderr = u.logs, u.logs
	require.NoError(u.t, u.cmd.Start())
	u.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(u.cmd, u.exited)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if code, _ := httpGet(u.url() + "/-/ready"); code == http.StatusOK {
			return
		}
		select {
		case <-u.exited:
			u.t.Fatalf("upstream prometheus exited during start:\n%s", u.logs.String())
		case <-ctx.Done():
			u.t.Fatalf("upstream prometheus not ready after 30s:\n%s", u.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop ends the upstream with SIGTERM (SIGKILL after 10 s).
func (u *upstream) stop() {
	if u.cmd == nil {
		return
	}
	_ = u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-u.exited:
	case <-time.After(10 * time.Second):
		_ = u.cmd.Process.Kill()
		<-u.exited
	}
	u.cmd = nil
}

// TestReliabilityRemoteWrite: the appliance remote-writes to Debian's
// prometheus (remote-write receiver). Samples arrive with the external
// labels; with the upstream down for 40 s they wait in the appliance's WAL
// and all arrive once it is back on the same port and data directory.
func TestReliabilityRemoteWrite(t *testing.T) {
	const outage = 40 * time.Second
	up := startUpstream(t)
	exp := newExporter(t)
	stopTicker := make(chan struct{})
	defer close(stopTicker)
	go func() {
		// A value that changes every scrape, so the gap is checked sample by
		// sample, not just counted.
		for {
			select {
			case <-stopTicker:
				return
			case now := <-time.After(200 * time.Millisecond):
				exp.set("e2e_value", now.Unix())
			}
		}
	}()
	env := map[string]string{"E2E_EXPORTER": exp.addr(), "E2E_REMOTE_WRITE_URL": up.url() + "/api/v1/write"}
	a := startAppliance(t, copyConfig(t, "reliability/remotewrite"), t.TempDir(), env, "--environment", "reliability")
	started := time.Now()

	sel := `e2e_value{job="exporter", environment="reliability"}`
	waitFor(t, 60*time.Second, "first samples at the upstream", func() bool {
		_, ok := scalarAt(t, up.url(), sel, time.Time{})
		return ok
	})
	firstArrival := time.Since(started)
	// Every series the upstream has carries the external label.
	all, _ := scalarAt(t, up.url(), `count({__name__=~"e2e_.*|up"})`, time.Time{})
	labelled, _ := scalarAt(t, up.url(), `count({__name__=~"e2e_.*|up", environment="reliability"})`, time.Time{})
	require.Positive(t, all)
	require.Equal(t, all, labelled, "series without the external label environment at the upstream")
	time.Sleep(3 * time.Second)

	// Outage.
	failedBefore := metricValue(t, a, "prometheus_remote_storage_samples_failed_total") + metricValue(t, a, "prometheus_remote_storage_samples_retried_total")
	up.stop()
	down := time.Now()
	time.Sleep(outage / 2)
	lagDuring := metricValue(t, a, "prometheus_remote_storage_highest_timestamp_in_seconds") -
		metricValue(t, a, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds")
	time.Sleep(time.Until(down.Add(outage)))
	up.start()
	back := time.Now()
	retried := metricValue(t, a, "prometheus_remote_storage_samples_failed_total") + metricValue(t, a, "prometheus_remote_storage_samples_retried_total") - failedBefore

	// Catch-up: the upstream's newest sample is from after its return.
	waitFor(t, 60*time.Second, "the queue to catch up", func() bool {
		ts, ok := scalarAt(t, up.url(), "timestamp("+sel+")", time.Time{})
		return ok && ts >= float64(time.Now().Add(-2*time.Second).Unix())
	})
	caughtUp := time.Since(back)
	time.Sleep(2 * time.Second) // last batch in flight

	// The outage window, sample by sample: what the appliance scraped is what
	// the upstream holds.
	w := int(back.Sub(down).Seconds())
	// External labels exist only on the way out, not in the local TSDB.
	local := rangeSelect(t, a.web, fmt.Sprintf(`e2e_value{job="exporter"}[%ds]`, w), back)
	remote := rangeSelect(t, up.url(), fmt.Sprintf("%s[%ds]", sel, w), back)
	require.Len(t, local, 1)
	require.Len(t, remote, 1, "no samples of the outage window at the upstream")
	require.Equal(t, "reliability", remote[0].Metric["environment"])
	require.GreaterOrEqual(t, len(local[0].Times), w-2, "the appliance itself missed scrapes")
	require.Equal(t, local[0].Times, remote[0].Times, "timestamps of the outage window differ")
	require.Equal(t, local[0].Values, remote[0].Values, "values of the outage window differ")
	require.LessOrEqual(t, maxGap(remote[0].Times), 1500*time.Millisecond, "gap in the upstream's copy")

	t.Logf("remote write to Debian prometheus: first samples after %s with environment=reliability on %v/%v series; upstream down %s: queue lag %.0fs half way, %.0f samples failed/retried",
		firstArrival.Round(100*time.Millisecond), labelled, all, back.Sub(down).Round(time.Second), lagDuring, retried)
	t.Logf("after the upstream returned: caught up in %s; outage window %ds: %d samples scraped, %d at the upstream, identical timestamps and values (max gap %s)",
		caughtUp.Round(100*time.Millisecond), w, len(local[0].Times), len(remote[0].Times), maxGap(remote[0].Times).Round(time.Millisecond))
}
