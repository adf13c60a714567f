package appliance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
)

// testAppliance is an appliance built in-process on 127.0.0.1:0.
type testAppliance struct {
	*Appliance
	web    string
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	stopped []string
}

const testPrometheusYML = `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules/*.yml]
`

func writeRuleGroup(t *testing.T, configDir, name string) {
	t.Helper()
	text := "groups:\n- name: " + name + "\n  rules:\n  - record: test:" + name + "\n    expr: vector(1)\n"
	require.NoError(t, os.WriteFile(filepath.Join(configDir, "rules", name+".yml"), []byte(text), 0o644))
}

// newTestAppliance builds an appliance on a config dir with one rule group
// "a" (the rest embedded defaults); setup runs between New and Run.
func newTestAppliance(t *testing.T, setup func(*testAppliance)) *testAppliance {
	t.Helper()
	dir := t.TempDir()
	configDir := filepath.Join(dir, "config")
	require.NoError(t, os.MkdirAll(filepath.Join(configDir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(configDir, configfiles.PrometheusFile), []byte(testPrometheusYML), 0o644))
	writeRuleGroup(t, configDir, "a")

	var o Options
	app := kingpin.New("test", "")
	o.RegisterFlags(app)
	_, err := app.Parse([]string{
		"--config.dir", configDir, "--storage.path", filepath.Join(dir, "data"),
		"--web.listen-address", "127.0.0.1:0", "--alertmanager.listen-address", "127.0.0.1:0",
		"--no-auto-gomemlimit",
	})
	require.NoError(t, err)
	a, err := New(o, promslog.NewNopLogger())
	require.NoError(t, err)
	ta := &testAppliance{Appliance: a, web: "http://" + a.Addr().String(), done: make(chan error, 1)}
	a.stopped = func(part string) {
		ta.mu.Lock()
		ta.stopped = append(ta.stopped, part)
		ta.mu.Unlock()
	}
	if setup != nil {
		setup(ta)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

func (ta *testAppliance) stop(t *testing.T) {
	t.Helper()
	if ta.cancel == nil {
		return
	}
	ta.cancel()
	ta.cancel = nil
	select {
	case err := <-ta.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of cancel")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (ta *testAppliance) waitReady(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		code, _ := get(t, ta.web+"/-/ready")
		return code == http.StatusOK
	}, time.Minute, 20*time.Millisecond, "appliance not ready")
}

func (ta *testAppliance) ruleGroups() []string {
	var names []string
	for _, g := range ta.ruler.Manager().RuleGroups() {
		names = append(names, g.Name())
	}
	slices.Sort(names)
	return names
}

// TestReadyDuringSlowReload: /-/ready (and the status API, which reads the
// configuration in force) answer within 50 ms while a reload spends
// seconds in one part.
func TestReadyDuringSlowReload(t *testing.T) {
	var slow atomic.Bool
	entered := make(chan struct{}, 1)
	ta := newTestAppliance(t, func(ta *testAppliance) {
		ta.reloads.subscribe("test slow part", func(*configfiles.Set) error {
			if slow.Load() {
				entered <- struct{}{}
				time.Sleep(2 * time.Second)
			}
			return nil
		})
	})
	ta.waitReady(t)

	slow.Store(true)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- ta.Reload("test") }()
	<-entered
	var worst time.Duration
	for n := 0; n < 20; n++ {
		for _, path := range []string{"/-/ready", "/api/v1/status/config"} {
			t0 := time.Now()
			code, body := get(t, ta.web+path)
			d := time.Since(t0)
			require.Equal(t, http.StatusOK, code, "%s: %s", path, body)
			worst = max(worst, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, <-done)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "the reload was not slow")
	t.Logf("slowest /-/ready or status answer during a 2 s reload: %s", worst)
	require.Less(t, worst, 50*time.Millisecond)
}

// TestFailedPartLeavesPreviousConfiguration: a reload whose last part
// fails leaves the rule groups, the Alertmanager's configuration and the
// configuration in force as they were, and says which part failed.
func TestFailedPartLeavesPreviousConfiguration(t *testing.T) {
	var fail atomic.Bool
	ta := newTestAppliance(t, func(ta *testAppliance) {
		ta.reloads.subscribe("test failing part", func(*configfiles.Set) error {
			if fail.Load() {
				return errors.New("refused")
			}
			return nil
		})
	})
	ta.waitReady(t)
	require.Equal(t, []string{"a"}, ta.ruleGroups())
	prev := ta.reloads.Current()
	require.Same(t, prev.Alertmanager, ta.am.Config())

	writeRuleGroup(t, ta.opts.ConfigDir, "b")
	fail.Store(true)
	err := ta.Reload("test")
	require.ErrorContains(t, err, "apply test failing part: refused")
	require.Same(t, prev, ta.reloads.Current())
	require.Same(t, prev.Alertmanager, ta.am.Config(), "the Alertmanager is not back on the previous configuration")
	require.Equal(t, []string{"a"}, ta.ruleGroups(), "the rules are not back on the previous configuration")
	ok, _ := ta.reloads.Last()
	require.False(t, ok)
	code, _ := get(t, ta.web+"/-/ready")
	require.Equal(t, http.StatusOK, code, "a failed reload does not make the appliance unready")

	fail.Store(false)
	require.NoError(t, ta.Reload("test"))
	require.Equal(t, []string{"a", "b"}, ta.ruleGroups())
}

// TestStopOrder: rules stop before scraping, scraping before the
// notification drain, which comes before the Alertmanager, and the TSDB
// closes last.
func TestStopOrder(t *testing.T) {
	ta := newTestAppliance(t, nil)
	ta.waitReady(t)
	ta.stop(t)
	ta.mu.Lock()
	got := slices.Clone(ta.stopped)
	ta.mu.Unlock()
	t.Logf("stop order: %v", got)
	want := []string{"rules", "scrape", "notifier", "alertmanager", "tsdb"}
	last := -1
	for _, part := range want {
		i := slices.Index(got, part)
		require.NotEqual(t, -1, i, "%s did not report stopping", part)
		require.Greater(t, i, last, "%s stopped out of order: %v", part, got)
		last = i
	}
	require.Equal(t, "tsdb", got[len(got)-1], "the TSDB closes last")
}

// TestReloadWaitsForStart: a reload asked for before the first
// configuration is in force waits for it instead of failing or racing it.
func TestReloadWaitsForStart(t *testing.T) {
	var ta *testAppliance
	errc := make(chan error, 1)
	ta = newTestAppliance(t, func(ta *testAppliance) {
		go func() { errc <- ta.Reload("test") }()
	})
	require.NoError(t, <-errc)
	require.NotNil(t, ta.reloads.Current())
	ta.waitReady(t)
}
