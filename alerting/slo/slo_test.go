package slo

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/history"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// t0 is the start of the scripted sequence (promqltest loads its samples
// from the epoch on); now is two hours later.
var (
	t0  = time.Unix(0, 0).UTC()
	now = t0.Add(2 * time.Hour)
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func note(t time.Duration, receiver, integration, group string, attempt int, err string, alerts ...history.AlertRef) history.Entry {
	return history.Entry{Time: at(t), Kind: history.KindNotification, Receiver: receiver, Integration: integration,
		GroupKey: group, Attempt: attempt, Success: err == "", Error: err, Alerts: alerts}
}

func ref(fp, name, sev, status string) history.AlertRef {
	return history.AlertRef{Fingerprint: fp, Alertname: name, Severity: sev, Status: status}
}

func ack(t time.Duration, fps ...string) history.Entry {
	e := history.Entry{Time: at(t), Kind: history.KindAck, Success: true, User: "oncall"}
	for _, fp := range fps {
		e.Alerts = append(e.Alerts, history.AlertRef{Fingerprint: fp})
	}
	return e
}

// script is the scripted sequence: known latencies (in the histogram
// below), failures and acks.
//
//   - DatabaseDown (critical, team platform, fp db): fires three times.
//     1st: pagerduty fails, its retry delivers at +10s; acked 5 min later.
//     2nd: delivered at 40m; acked 15 min later. 3rd: delivered at 90m,
//     never acked.
//   - ConnectorErrors (warning, team connectors, fp conn): slack fails
//     twice and gives up (never delivered); email delivers; acked after 2
//     min with reason false_positive (in the acks store).
//   - DiskFull (critical, team unknown to the rules, fp disk): delivered
//     at 100m, acked by a cluster peer (acks store only) 4 min later.
var script = []history.Entry{
	note(0, "pagerduty", "pagerduty", "g-db", 1, "503 Service Unavailable", ref("db", "DatabaseDown", "critical", "firing")),
	note(10*time.Second, "pagerduty", "pagerduty", "g-db", 2, "", ref("db", "DatabaseDown", "critical", "firing")),
	ack(10*time.Second+5*time.Minute, "db"),
	note(30*time.Minute, "pagerduty", "pagerduty", "g-db", 1, "", ref("db", "DatabaseDown", "critical", "resolved")),
	note(40*time.Minute, "pagerduty", "pagerduty", "g-db", 1, "", ref("db", "DatabaseDown", "critical", "firing")),
	ack(55*time.Minute, "db"),
	note(60*time.Minute, "pagerduty", "pagerduty", "g-db", 1, "", ref("db", "DatabaseDown", "critical", "resolved")),
	note(90*time.Minute, "pagerduty", "pagerduty", "g-db", 1, "", ref("db", "DatabaseDown", "critical", "firing")),
	// A repeat of a still-firing alert is not a new firing.
	note(95*time.Minute, "pagerduty", "pagerduty", "g-db", 1, "", ref("db", "DatabaseDown", "critical", "firing")),

	note(70*time.Minute, "slack", "slack", "g-conn", 1, "429 Too Many Requests", ref("conn", "ConnectorErrors", "warning", "firing")),
	note(71*time.Minute, "slack", "slack", "g-conn", 2, "429 Too Many Requests", ref("conn", "ConnectorErrors", "warning", "firing")),
	note(70*time.Minute, "email", "email", "g-conn", 1, "", ref("conn", "ConnectorErrors", "warning", "firing")),
	ack(72*time.Minute, "conn"),

	note(100*time.Minute, "pagerduty", "pagerduty", "g-disk", 1, "", ref("disk", "DiskFull", "critical", "firing")),
}

var states = []acks.State{
	{Fingerprint: "conn", Alertname: "ConnectorErrors", Ack: &acks.Ack{By: "oncall", At: at(72 * time.Minute), Reason: acks.ReasonFalsePositive}},
	{Fingerprint: "db", Alertname: "DatabaseDown", Ack: &acks.Ack{By: "oncall", At: at(55 * time.Minute)}}, // no reason: not a false positive
	{Fingerprint: "disk", Alertname: "DiskFull", Ack: &acks.Ack{By: "peer", At: at(104 * time.Minute), Reason: acks.ReasonWorkingOn}},
}

// latency: one observation a minute for two hours; 90 % within 10 s, 96 %
// within 30 s, all within 60 s: p95 = 10 + 20 × (0.95-0.90)/0.06 s.
const latency = `
load 1m
	smm_appliance_alert_processing_seconds_bucket{le="10.0"} 0+0.9x120
	smm_appliance_alert_processing_seconds_bucket{le="30.0"} 0+0.96x120
	smm_appliance_alert_processing_seconds_bucket{le="60.0"} 0+1x120
	smm_appliance_alert_processing_seconds_bucket{le="+Inf"} 0+1x120
	smm_appliance_alert_processing_seconds_count 0+1x120
	ALERTS{alertname="DatabaseDown", alertstate="firing"} 1x120
	ALERTS{alertname="SilencedOne", alertstate="firing"} 1x10
`

func sources(t *testing.T) Sources {
	st := promqltest.LoadedStorage(t, latency)
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1e6)
	return Sources{
		History: func(since, until time.Time) ([]history.Entry, error) {
			var out []history.Entry
			for _, e := range script {
				if !e.Time.Before(since) && !e.Time.After(until) {
					out = append(out, e)
				}
			}
			return out, nil
		},
		Acks:  func() []acks.State { return states },
		Query: EngineQuery(engine, st),
		Teams: func() map[string]string {
			return map[string]string{"DatabaseDown": "platform", "ConnectorErrors": "connectors"}
		},
		AlertRules: func() []string {
			return []string{"DatabaseDown", "ConnectorErrors", "DiskFull", "SilencedOne", "NeverOne"}
		},
		Silences: func() []Silence {
			return []Silence{
				{ID: "s1", CreatedBy: "oncall", Comment: "maintenance", Matchers: `{job="postgres"}`, StartsAt: at(10 * time.Minute), EndsAt: at(40 * time.Minute)},
				{ID: "s2", CreatedBy: "=cmd|' /C calc'!A0", Comment: "still on", Matchers: `{team="data"}`, StartsAt: at(100 * time.Minute), EndsAt: at(5 * time.Hour)},
				{ID: "old", StartsAt: t0.Add(-30 * 24 * time.Hour), EndsAt: t0.Add(-29 * 24 * time.Hour)},
			}
		},
	}
}

func objective(r Report, name string) Objective {
	for _, o := range r.Objectives {
		if o.Name == name {
			return o
		}
	}
	return Objective{}
}

func TestCompute(t *testing.T) {
	src := sources(t)
	rep := Compute(context.Background(), src, "24h", 24*time.Hour, now)
	require.Empty(t, rep.Errors)
	require.Len(t, rep.Objectives, 4)

	for _, tc := range []struct {
		name  string
		value float64
		met   bool
	}{
		// The histogram of the day: shares within 10 s and 30 s.
		{"processing_latency", 10 + 20*0.05/0.06, true},
		// Notifications: pagerduty db×6 (the first failed, its retry
		// delivered), disk×1, slack conn×1 (never delivered), email
		// conn×1: 8 of 9.
		{"delivery", 8.0 / 9, false},
		// Fired: db three times, conn, disk: 5; conn acked as a false
		// positive.
		{"false_positives", 1.0 / 5, false},
		// Critical episodes notified: db 3, disk 1; acked: db after 5 min
		// and 15 min, disk after 4 min (from the acks store).
		{"mtta_critical", (5*60 + 15*60 + 4*60) / 3.0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := objective(rep, tc.name)
			require.NotNil(t, o.Value, o.Detail)
			require.InDelta(t, tc.value, *o.Value, 1e-6, o.Detail)
			require.NotNil(t, o.Met)
			require.Equal(t, tc.met, *o.Met)
		})
	}
	require.Equal(t, "3 of 4 critical alerts acknowledged", objective(rep, "mtta_critical").Detail)
	// The count is the history's (exact), the shares the histogram's.
	require.Equal(t, "5 alerts, 96.0 % first notified within 30 s", objective(rep, "processing_latency").Detail)

	want := map[string][3]int{ // notifications, delivered, failed attempts
		"email/email": {1, 1, 0}, "pagerduty/pagerduty": {7, 7, 1}, "slack/slack": {1, 0, 2},
	}
	require.Len(t, rep.Delivery, len(want))
	for _, d := range rep.Delivery {
		w := want[d.Receiver+"/"+d.Integration]
		require.Equal(t, w, [3]int{d.Notifications, d.Delivered, d.FailedAttempt}, d.Receiver)
	}

	type row struct {
		sev, team       string
		notified, acked int
		mean            float64
	}
	var got []row
	for _, m := range rep.MTTA {
		r := row{m.Severity, m.Team, m.Notified, m.Acked, 0}
		if m.MeanSeconds != nil {
			r.mean = *m.MeanSeconds
		}
		got = append(got, r)
	}
	require.Equal(t, []row{
		{"critical", "platform", 3, 2, 600},
		{"critical", "unknown", 1, 1, 240},
		{"warning", "connectors", 1, 1, 120},
	}, got)
}

func TestComputeWindows(t *testing.T) {
	src := sources(t)
	for _, tc := range []struct {
		window   string
		fired    int
		delivery string
	}{
		// The last hour (60m to 120m): db's third firing, conn and disk;
		// pagerduty's 60m, 90m, 95m and 100m, slack's and email's.
		{"live", 3, "5 of 6 notifications delivered"},
		{"7d", 5, "8 of 9 notifications delivered"},
	} {
		t.Run(tc.window, func(t *testing.T) {
			name, d, err := ParseWindow(tc.window)
			require.NoError(t, err)
			rep := Compute(context.Background(), src, name, d, now)
			fp := objective(rep, "false_positives")
			require.Contains(t, fp.Detail, " of "+strconv.Itoa(tc.fired)+" alerts")
			require.Equal(t, tc.delivery, objective(rep, "delivery").Detail)
		})
	}
	_, _, err := ParseWindow("2w")
	require.ErrorContains(t, err, "window must be")
}

// TestComputeNoData: without sources every figure says so, none is
// invented, and nothing panics.
func TestComputeNoData(t *testing.T) {
	rep := Compute(context.Background(), Sources{}, "live", time.Hour, now)
	require.Len(t, rep.Objectives, 4)
	for _, o := range rep.Objectives {
		require.Nil(t, o.Value, o.Name)
		require.Nil(t, o.Met, o.Name)
		require.NotEmpty(t, o.Detail, o.Name)
	}
}

func TestReviewGolden(t *testing.T) {
	rv := ComputeReview(context.Background(), sources(t), "24h", 24*time.Hour, now)
	require.Equal(t, []Flap{{Alertname: "DatabaseDown", Fingerprint: "db", Fired: 3}}, rv.Flapping)
	require.Equal(t, []string{"NeverOne"}, rv.NeverFired, "SilencedOne fired (ALERTS) though never notified")
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"review.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, rv) }},
		{"review.csv", func(b *bytes.Buffer) error { return WriteCSV(b, rv) }},
	} {
		var b bytes.Buffer
		require.NoError(t, f.write(&b))
		path := filepath.Join("testdata", f.name+".golden")
		if *update {
			require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(want), b.String(), "%s (go test ./alerting/slo -update rewrites it)", path)
	}
}

// BenchmarkCompute30d: a month of a busy appliance's history (100,000
// attempts over 2,000 alerts, a tenth of them acked) into one report.
func BenchmarkCompute30d(b *testing.B) {
	end := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var es []history.Entry
	for i := range 100000 {
		fp := strconv.Itoa(i % 2000)
		t := end.Add(-30 * 24 * time.Hour).Add(time.Duration(i) * 25 * time.Second)
		status := "firing"
		if i%7 == 6 {
			status = "resolved"
		}
		es = append(es, history.Entry{Time: t, Kind: history.KindNotification, Receiver: "r" + strconv.Itoa(i%5), Integration: "slack",
			GroupKey: "g" + fp, Attempt: 1, Success: i%97 != 0, Alerts: []history.AlertRef{ref(fp, "A"+strconv.Itoa(i%40), "critical", status)}})
		if i%10 == 0 {
			es = append(es, history.Entry{Time: t.Add(time.Minute), Kind: history.KindAck, Alerts: []history.AlertRef{{Fingerprint: fp}}})
		}
	}
	src := Sources{History: func(since, until time.Time) ([]history.Entry, error) { return es, nil }}
	b.ReportAllocs()
	for b.Loop() {
		Compute(context.Background(), src, "30d", 30*24*time.Hour, end)
	}
}

// TestComputeLongFiring: the repeat of an alert firing since days before
// the window (its first notification is in the acks store, the history of
// the day before has nothing) is no new firing, no notification to
// acknowledge and no false-positive denominator; one that fired in the
// day before the window and repeats in it neither.
func TestComputeLongFiring(t *testing.T) {
	end := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	es := []history.Entry{
		{Time: end.Add(-20 * time.Hour), Kind: history.KindNotification, Receiver: "r", Integration: "slack", Attempt: 1, Success: true,
			Alerts: []history.AlertRef{ref("yesterday", "B", "critical", "firing")}},
		{Time: end.Add(-30 * time.Minute), Kind: history.KindNotification, Receiver: "r", Integration: "slack", Attempt: 1, Success: true,
			Alerts: []history.AlertRef{ref("old", "A", "critical", "firing"), ref("yesterday", "B", "critical", "firing"), ref("new", "C", "critical", "firing")}},
	}
	var asked time.Time
	src := Sources{
		History: func(since, until time.Time) ([]history.Entry, error) {
			asked = since
			var out []history.Entry
			for _, e := range es {
				if !e.Time.Before(since) {
					out = append(out, e)
				}
			}
			return out, nil
		},
		Acks: func() []acks.State {
			return []acks.State{
				{Fingerprint: "old", FirstNotifiedAt: end.Add(-72 * time.Hour)},
				{Fingerprint: "yesterday", FirstNotifiedAt: end.Add(-20 * time.Hour)},
				{Fingerprint: "new", FirstNotifiedAt: end.Add(-30 * time.Minute)},
			}
		},
	}
	rep := Compute(context.Background(), src, "live", time.Hour, end)
	require.Equal(t, end.Add(-25*time.Hour), asked, "the day before the window is replayed")
	require.Equal(t, "0 of 1 alerts acknowledged as false positives", objective(rep, "false_positives").Detail)
	require.Equal(t, "none of 1 critical alerts acknowledged", objective(rep, "mtta_critical").Detail)
	require.Equal(t, "1 of 1 notifications delivered", objective(rep, "delivery").Detail, "the window's notifications only")
}

// TestFalsePositivesFromHistory: an ack with reason false_positive counts
// whether the history holds it (the ack store forgets an ack a day after
// its alert is gone, so the 7- and 30-day windows need the history) or only
// the ack store does (a peer's ack arrives by gossip, not in this node's
// history); an alert acked both ways counts once, one outside the window
// not at all.
func TestFalsePositivesFromHistory(t *testing.T) {
	end := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	fired := func(d time.Duration, fp string) history.Entry {
		return history.Entry{Time: end.Add(-d), Kind: history.KindNotification, Receiver: "r", Integration: "slack", Attempt: 1, Success: true,
			Alerts: []history.AlertRef{ref(fp, "A"+fp, "warning", "firing")}}
	}
	ackAt := func(d time.Duration, fp, reason string) history.Entry {
		e := ack(0, fp)
		e.Time, e.Reason = end.Add(-d), reason
		return e
	}
	fpAck := func(d time.Duration, fp string) history.Entry { return ackAt(d, fp, acks.ReasonFalsePositive) }
	es := []history.Entry{
		fired(6*24*time.Hour, "gone"), fpAck(6*24*time.Hour-time.Minute, "gone"), // store forgot it
		fired(2*time.Hour, "both"), fpAck(2*time.Hour-time.Minute, "both"), // history and store
		fired(time.Hour, "peer"), // store only
		fired(30*time.Minute, "real"), ackAt(29*time.Minute, "real", acks.ReasonWorkingOn),
		fired(9*24*time.Hour, "old"), fpAck(9*24*time.Hour-time.Minute, "old"), // before the window
	}
	src := Sources{
		History: func(since, until time.Time) ([]history.Entry, error) {
			var out []history.Entry
			for _, e := range es {
				if !e.Time.Before(since) && !e.Time.After(until) {
					out = append(out, e)
				}
			}
			return out, nil
		},
		Acks: func() []acks.State {
			return []acks.State{
				{Fingerprint: "both", Ack: &acks.Ack{By: "oncall", At: end.Add(-2*time.Hour + time.Minute), Reason: acks.ReasonFalsePositive}},
				{Fingerprint: "peer", Ack: &acks.Ack{By: "peer", At: end.Add(-59 * time.Minute), Reason: acks.ReasonFalsePositive}},
			}
		},
	}
	rep := Compute(context.Background(), src, "7d", 7*24*time.Hour, end)
	require.Equal(t, "3 of 4 alerts acknowledged as false positives", objective(rep, "false_positives").Detail)
}

// TestDeliveryLogged: a notification only the log fallback handled (its
// receiver's channels lack their secrets) is counted apart: neither
// delivered nor failed, and out of the delivery ratio.
func TestDeliveryLogged(t *testing.T) {
	logged := note(time.Minute, "platform-slack", "log", "g1", 1, "", ref("q", "QueueBacklog", "warning", "firing"))
	logged.Logged = true
	rows := delivery([]history.Entry{
		logged,
		note(time.Minute, "pagerduty-oncall", "pagerduty", "g2", 1, "", ref("db", "DatabaseDown", "critical", "firing")),
	})
	require.Len(t, rows, 2)
	require.Equal(t, Delivery{Receiver: "pagerduty-oncall", Integration: "pagerduty", Notifications: 1, Delivered: 1, Ratio: ptr(1.0)}, rows[0])
	require.Equal(t, Delivery{Receiver: "platform-slack", Integration: "log", Logged: 1}, rows[1])
}
