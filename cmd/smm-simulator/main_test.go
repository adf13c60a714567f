package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/simulator"
)

var update = flag.Bool("update", false, "rewrite testdata/help.golden")

func TestHelp(t *testing.T) {
	opts := simulator.DefaultOptions()
	app := newApp(&opts, &promslog.Config{})
	var buf bytes.Buffer
	app.UsageWriter(&buf)
	app.Usage(nil)
	if *update {
		require.NoError(t, os.WriteFile("testdata/help.golden", buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile("testdata/help.golden")
	require.NoError(t, err)
	require.Equal(t, string(want), buf.String())
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, o simulator.Options)
		err   string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, o simulator.Options) {
				require.Equal(t, "127.0.0.1", o.Host)
				require.Equal(t, 9101, o.BasePort)
				require.Equal(t, "127.0.0.1:9099", o.ControlAddress)
				require.Equal(t, time.Second, o.Tick)
				require.Empty(t, o.Scenarios)
				require.False(t, o.Demo.Enabled)
				require.Equal(t, simulator.DefaultDemoScenarios, o.Demo.Scenarios)
			},
		},
		{
			name: "scenarios comma-separated and repeated",
			args: []string{"--scenario", "vault-down,redis-down", "--scenario", "disk-full"},
			check: func(t *testing.T, o simulator.Options) {
				require.Equal(t, []string{"vault-down", "redis-down", "disk-full"}, o.Scenarios)
			},
		},
		{
			name: "free ports, fleet and scale",
			args: []string{"--listen.base-port", "0", "--connectors", "20", "--users", "5", "--series", "100000", "--series.targets", "4"},
			check: func(t *testing.T, o simulator.Options) {
				require.Equal(t, 0, o.BasePort)
				require.Equal(t, 20, o.Fleet.Connectors)
				require.Equal(t, 5, o.Fleet.Users)
				require.Equal(t, 100000, o.Series)
				require.Equal(t, 4, o.SeriesTargets)
			},
		},
		{
			name: "demo",
			args: []string{"--demo", "--demo.scenarios", "vault-down,disk-full", "--demo.interval", "1m", "--demo.active", "30s"},
			check: func(t *testing.T, o simulator.Options) {
				require.True(t, o.Demo.Enabled)
				require.Equal(t, []string{"vault-down", "disk-full"}, o.Demo.Scenarios)
				require.Equal(t, time.Minute, o.Demo.Interval)
				require.Equal(t, 30*time.Second, o.Demo.Active)
			},
		},
		{name: "unknown scenario", args: []string{"--scenario", "meteor-strike"}, err: `unknown scenario "meteor-strike"`},
		{name: "zero agents", args: []string{"--agents", "0"}, err: "agents must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := simulator.DefaultOptions()
			app := newApp(&opts, &promslog.Config{})
			_, err := app.Parse(tc.args)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, opts)
		})
	}
}
