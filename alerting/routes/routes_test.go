package routes

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the shipped configuration")

// shipped loads the embedded alertmanager.yml as the appliance does, with no
// environment: every integration is disabled, every route is kept.
func shipped(t *testing.T) *config.Config {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, configfiles.Materialize(configs.FS, dir))
	noEnv := func(string) (string, bool) { return "", false }
	set, err := configfiles.Loader{Sources: configfiles.Sources{EmbeddedDir: dir}, Lookup: noEnv}.Load()
	require.NoError(t, err)
	return set.Alertmanager
}

func TestMatchShipped(t *testing.T) {
	tree := New(shipped(t).Route)
	for _, tc := range []struct {
		name   string
		labels []string
		want   []string
		// businessHours are the receivers gated by business-hours.
		businessHours []string
	}{
		{
			name:   "critical database alert pages and reaches database and platform",
			labels: []string{"alertname=SMM_DatabaseConnectionFailure", "severity=critical", "team=database", "service=postgres", "category=infrastructure"},
			want:   []string{"pagerduty-oncall", "msteams-mirror", "platform-slack", "platform-email", "database-slack", "database-email"},
		},
		{
			name:          "warning agent alert: slack any time, e-mail in business hours",
			labels:        []string{"alertname=SMM_AgentHighFailureRate", "severity=warning", "team=agent", "service=smm-agents", "category=agents"},
			want:          []string{"platform-slack", "platform-email", "agent-slack", "agent-email"},
			businessHours: []string{"platform-email", "agent-email"},
		},
		{
			name:   "ciso has no slack",
			labels: []string{"alertname=SMM_VaultConnectionFailure", "severity=critical", "team=security"},
			want:   []string{"pagerduty-oncall", "msteams-mirror", "security-slack", "security-email", "ciso-email"},
		},
		{
			name:   "escalated copy goes to escalation only",
			labels: []string{"alertname=SMM_ConnectorDown", "severity=critical", "team=connector", "escalated=true"},
			want:   []string{"escalation"},
		},
		{
			name:   "watchdog",
			labels: []string{"alertname=Watchdog", "severity=none"},
			want:   []string{"watchdog"},
		},
		{
			name:   "no team label goes to platform",
			labels: []string{"alertname=Custom", "severity=critical"},
			want:   []string{"pagerduty-oncall", "msteams-mirror", "platform-slack", "platform-email"},
		},
		{
			name:   "unknown severity falls to the root",
			labels: []string{"alertname=Custom", `severity="info"`},
			want:   []string{"platform-slack"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := ParseLabels(tc.labels)
			require.NoError(t, err)
			ds := tree.Match(ls)
			require.Equal(t, tc.want, Receivers(ds))
			var bh []string
			for _, d := range ds {
				if len(d.ActiveTimeIntervals) > 0 {
					require.Equal(t, []string{"business-hours"}, d.ActiveTimeIntervals)
					bh = append(bh, d.Receiver)
				}
				require.Empty(t, d.MuteTimeIntervals)
			}
			require.Equal(t, tc.businessHours, bh)
		})
	}
}

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    model.LabelSet
		wantErr string
	}{
		{args: []string{"a=b", `c="d e"`, "f="}, want: model.LabelSet{"a": "b", "c": "d e", "f": ""}},
		{args: []string{"teams=a,b"}, want: model.LabelSet{"teams": "a,b"}},
		{args: []string{"a=b=c"}, want: model.LabelSet{"a": "b=c"}},
		{args: []string{"a"}, wantErr: `label "a": want name=value`},
		{args: []string{"=b"}, wantErr: "invalid label name"},
		{args: []string{"a=~b"}, wantErr: "not matchers"},
		{args: []string{"a!=b"}, wantErr: "not matchers"},
		{args: []string{"a=b", "a=c"}, wantErr: `label "a" given twice`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := ParseLabels(tc.args)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		got  []string
		want string
		ok   bool
	}{
		{[]string{"a", "b"}, "a,b", true},
		{[]string{"a", "b"}, "b, a", true},
		{[]string{"a", "b"}, "a", false},
		{[]string{"a", "b", "b"}, "a,b", false},
		{nil, "", true},
	} {
		err := Verify(tc.got, tc.want)
		if tc.ok {
			require.NoError(t, err, "%v vs %q", tc.got, tc.want)
		} else {
			require.Error(t, err, "%v vs %q", tc.got, tc.want)
		}
	}
	require.EqualError(t, Verify([]string{"b", "a"}, "a"), "expected receivers a, resolved b,a")
}

func TestWriteSmall(t *testing.T) {
	cfg, err := config.Load(`
route:
  receiver: default
  group_by: [alertname]
  routes:
    - receiver: pager
      matchers: ['severity="critical"']
      group_wait: 5s
      routes:
        - continue: true
        - receiver: mail
          mute_time_intervals: [night]
    - receiver: all
      group_by: ['...']
      active_time_intervals: [day]
receivers: [{name: default}, {name: pager}, {name: mail}, {name: all}]
time_intervals:
  - name: night
    time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
  - name: day
    time_intervals: [{times: [{start_time: "06:00", end_time: "24:00"}]}]
`)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, New(cfg.Route).Write(&b))
	require.Equal(t, `default-route  receiver: default  group_by: [alertname]
├── {severity="critical"}  receiver: pager  group_wait: 5s
│   ├── {}  continue: true  receiver: pager
│   └── {}  receiver: mail  mute_time_intervals: [night]
└── {}  receiver: all  group_by: [...]  active_time_intervals: [day]
`, b.String())
}

// TestWriteShipped compares `routes show` of the shipped configuration with
// testdata/shipped.golden; run with -update after a deliberate change.
func TestWriteShipped(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, New(shipped(t).Route).Write(&b))
	const golden = "testdata/shipped.golden"
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run `go test ./alerting/routes/ -run TestWriteShipped -update` to create it")
	require.Equal(t, string(want), b.String(), "route tree changed; review and run with -update")
}
