package simulator

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

func TestControlJobs(t *testing.T) {
	h := startHarness(t, nil)
	want := append([]string{}, JobNames...)
	var got []string
	for job := range h.jobs {
		got = append(got, job)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got)

	for job, addrs := range h.jobs {
		require.Len(t, addrs, 1, job)
		require.Equal(t, http.StatusOK, h.snap(job).status, job)
	}
	// Vault serves its telemetry path and /metrics.
	status, mfs := scrapeURL(t, "http://"+h.jobs[JobVault][0]+"/metrics")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, mfs, "vault_core_unsealed")
	require.Equal(t, vaultMetricsPath, h.paths[JobVault])

	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	h.getJSON("/targets", &groups)
	require.Len(t, groups, len(JobNames))
	for i, g := range groups {
		require.Equal(t, JobNames[i], g.Labels["job"])
		require.Equal(t, h.jobs[JobNames[i]], g.Targets)
		require.NotEmpty(t, g.Labels["__metrics_path__"])
	}
	require.Equal(t, http.StatusOK, h.call(http.MethodGet, "/-/healthy"))
}

func TestStopClosesListeners(t *testing.T) {
	opts := DefaultOptions()
	opts.BasePort = 0
	opts.ControlAddress = "127.0.0.1:0"
	s, err := New(opts, promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.Start())
	addr := s.Jobs()[0].Addresses[0]
	status, _ := scrapeURL(t, "http://"+addr+"/metrics")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, s.Stop())
	_, err = http.Get("http://" + addr + "/metrics")
	require.Error(t, err)
}

func TestStartScenarios(t *testing.T) {
	h := startHarness(t, func(o *Options) { o.Scenarios = []string{scVaultDown, scRedisDown} })
	require.Equal(t, []string{scRedisDown, scVaultDown}, h.s.ActiveScenarios())
	require.Equal(t, http.StatusServiceUnavailable, h.snap(JobVault).status)
	require.Equal(t, 0.0, byKey(h.snap(JobRedis).mfs, "redis_up")[""])
}

// TestDemo runs the rotation fast and watches it start and end scenarios on its own.
func TestDemo(t *testing.T) {
	h := startHarness(t, func(o *Options) {
		o.Demo = DemoOptions{Enabled: true, Interval: 300 * time.Millisecond, Active: 200 * time.Millisecond,
			Scenarios: []string{scCanaryFailure, scVaultDown}}
	})
	active := func() map[string]string {
		var statuses []ScenarioStatus
		h.getJSON("/scenarios", &statuses)
		out := map[string]string{}
		for _, st := range statuses {
			if st.Active {
				out[st.Name] = st.Source
			}
		}
		return out
	}
	// The first scenario starts at once.
	require.Equal(t, map[string]string{scCanaryFailure: "demo"}, active())
	require.Eventually(t, func() bool { return len(active()) == 0 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return active()[scVaultDown] == "demo" }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, http.StatusServiceUnavailable, h.snap(JobVault).status)
	require.Eventually(t, func() bool { return h.snap(JobVault).status == http.StatusOK }, 5*time.Second, 10*time.Millisecond)

	// A scenario the operator started is left alone by the rotation.
	require.Equal(t, http.StatusOK, h.call(http.MethodPost, "/scenario/"+scCanaryFailure))
	require.Eventually(t, func() bool { return active()[scVaultDown] == "demo" }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return active()[scVaultDown] == "" }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, "api", active()[scCanaryFailure])
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
		err    string
	}{
		{"defaults", func(*Options) {}, ""},
		{"no connectors", func(o *Options) { o.Fleet.Connectors = 0 }, "connectors must be at least 1"},
		{"no tick", func(o *Options) { o.Tick = 0 }, "tick must be positive"},
		{"unknown scenario", func(o *Options) { o.Scenarios = []string{"meteor-strike"} }, `unknown scenario "meteor-strike"`},
		{"demo active too long", func(o *Options) { o.Demo.Enabled = true; o.Demo.Active = 3 * time.Minute }, "demo: need 0 < active"},
		{"demo unknown", func(o *Options) { o.Demo.Enabled = true; o.Demo.Scenarios = []string{"x"} }, `demo: unknown scenario "x"`},
		{"ports", func(o *Options) { o.BasePort = 65530 }, "ports out of range"},
		{"series targets", func(o *Options) { o.Series = 10; o.SeriesTargets = 0 }, "series targets must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.mutate(&o)
			err := o.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
