package history

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

func dirSize(t *testing.T, dir string) int64 {
	var n int64
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		n += fi.Size()
	}
	return n
}

func TestSizeRetention(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxBytes: 20 << 10, SegmentSize: 4 << 10}, promslog.NewNopLogger())
	require.NoError(t, err)
	start := time.Now().Add(-time.Hour)
	for i := range 2000 {
		require.NoError(t, s.Append(Entry{Time: start.Add(time.Duration(i) * time.Millisecond), Kind: KindNotification, Receiver: fmt.Sprintf("r%d", i), Success: true}))
	}
	require.NoError(t, s.Close())
	// One segment may overshoot while it is being written.
	require.LessOrEqual(t, dirSize(t, dir), int64(20<<10+4<<10))

	// After reopening, the newest entries are there, the oldest are gone.
	s, err = Open(Options{Dir: dir, MaxBytes: 20 << 10, SegmentSize: 4 << 10}, promslog.NewNopLogger())
	require.NoError(t, err)
	got, err := s.Query(Filter{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, "r1999", got[0].Receiver)
	got, err = s.Query(Filter{Receiver: "r0"})
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestAgeRetentionAndFilters(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxAge: time.Hour, SegmentSize: 1 << 10}, promslog.NewNopLogger())
	require.NoError(t, err)
	old := time.Now().Add(-3 * time.Hour)
	for i := range 30 {
		require.NoError(t, s.Append(Entry{Time: old.Add(time.Duration(i) * time.Second), Kind: KindNotification, Receiver: "old", Success: true,
			Alerts: []AlertRef{{Alertname: "Old"}}}))
	}
	now := time.Now()
	require.NoError(t, s.Append(Entry{Time: now, Kind: KindNotification, Receiver: "new", Success: false, Error: "boom", Alerts: []AlertRef{{Alertname: "New", Fingerprint: "fp1"}, {Alertname: "New", Fingerprint: "fp2"}}}))
	require.NoError(t, s.Append(Entry{Time: now, Kind: KindAck, User: "alice", Success: true, Alerts: []AlertRef{{Alertname: "New"}}}))
	require.NoError(t, s.Append(Entry{Time: now, Kind: KindNotification, Receiver: "nosecret", Integration: "log", Success: true, Logged: true}))
	require.NoError(t, s.Append(Entry{Time: now, Kind: KindNotification, Receiver: "new", Integration: "webhook", Success: true,
		Alerts: []AlertRef{{Alertname: "Billing", Labels: map[string]string{"alertname": "Billing", "team": "billing"}}}}))

	cases := []struct {
		name string
		f    Filter
		want int
	}{
		{"old entries expired", Filter{Receiver: "old"}, 0},
		{"by kind", Filter{Kind: KindAck}, 1},
		{"failures", Filter{Status: "failure"}, 1},
		{"successes include the log fallback", Filter{Status: "success", Kind: KindNotification}, 2},
		{"delivered leaves the log fallback out", Filter{Status: "delivered", Kind: KindNotification}, 1},
		{"logged only", Filter{Status: "logged"}, 1},
		{"by alertname", Filter{Alertname: "New"}, 2},
		{"by fingerprint", Filter{Fingerprint: "fp2"}, 1},
		{"by alertname and fingerprint", Filter{Alertname: "Old", Fingerprint: "fp2"}, 0},
		{"by labels (entries without recorded labels know alertname)", Filter{Labels: func(l map[string]string) bool { return l["alertname"] == "New" }}, 2},
		{"by a label", Filter{Labels: func(l map[string]string) bool { return l["team"] == "billing" }}, 1},
		{"since the future", Filter{Since: now.Add(time.Minute)}, 0},
		{"until the past", Filter{Until: now.Add(-time.Minute)}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Query(c.f)
			require.NoError(t, err)
			require.Len(t, got, c.want)
		})
	}
	require.NoError(t, s.Close())
}

func TestTornLineIsSkipped(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir}, promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.Append(Entry{Kind: KindNotification, Receiver: "a", Success: true}))
	require.NoError(t, s.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "history-*.jsonl"))
	require.Len(t, segs, 1)
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString(`{"kind":"notif`) // a crash mid-write
	f.Close()

	s, err = Open(Options{Dir: dir}, promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.Append(Entry{Kind: KindNotification, Receiver: "b", Success: true}))
	got, err := s.Query(Filter{})
	require.NoError(t, err)
	require.Len(t, got, 2)
}
