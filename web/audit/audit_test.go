package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestRotationKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, MaxBytes: 3 * 4096, Files: 3})
	require.NoError(t, err)
	for i := range 2000 {
		require.NoError(t, l.Write(Entry{Event: "ack", User: fmt.Sprintf("u%04d", i)}))
	}
	got, err := l.Recent(5, "ack")
	require.NoError(t, err)
	require.Len(t, got, 5)
	require.Equal(t, "u1999", got[0].User)
	all, err := l.Recent(10000, "")
	require.NoError(t, err)
	require.Less(t, len(all), 2000, "old files beyond keep are deleted")
	require.NoError(t, l.Close())
}

// TestFieldsBounded: a caller-controlled field of any length takes a bounded
// line, so huge user names cannot rotate earlier entries away.
func TestFieldsBounded(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, MaxBytes: 10 << 20, Files: 5})
	require.NoError(t, err)
	require.NoError(t, l.Write(Entry{Event: "config_reload", User: "start"}))
	huge := strings.Repeat("é", 100000)
	for range 60 {
		require.NoError(t, l.Write(Entry{Event: "denied", User: huge, Path: "/" + huge, Error: huge, Remote: huge, Files: map[string]string{huge: huge}}))
	}
	fi, err := os.Stat(filepath.Join(dir, "audit.log"))
	require.NoError(t, err)
	require.Less(t, fi.Size(), int64(60*8192), "every line is bounded")
	got, err := l.Recent(1000, "")
	require.NoError(t, err)
	require.Len(t, got, 61)
	require.LessOrEqual(t, len(got[0].User), MaxNameLen)
	require.True(t, strings.HasSuffix(got[0].User, "…[cut]"))
	require.Equal(t, "config_reload", got[60].Event, "the first entry is still there")
	require.NoError(t, l.Close())
}

// TestReaderSkipsOversizedLine: a line over the reader's limit (written by
// an older version) is skipped; the entries after it are still read.
func TestReaderSkipsOversizedLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	long := `{"time":"2026-01-01T00:00:00Z","event":"login_failed","user":"` + strings.Repeat("x", 2<<20) + "\"}\n"
	require.NoError(t, os.WriteFile(p, []byte(`{"time":"2026-01-01T00:00:00Z","event":"before"}`+"\n"+long), 0o640))
	l, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, l.Write(Entry{Event: "after"}))
	got, err := l.Recent(100, "")
	require.NoError(t, err)
	var events []string
	for _, e := range got {
		events = append(events, e.Event)
	}
	require.Equal(t, []string{"after", "before"}, events)
	require.NoError(t, l.Close())
}

// TestRetentionByAge: entries older than MaxAge are not served, and their
// files are deleted once every entry in them is older.
func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, MaxAge: 24 * time.Hour})
	require.NoError(t, err)
	l.now = func() time.Time { return now }
	require.NoError(t, l.Write(Entry{Event: "old"}))
	now = now.Add(23 * time.Hour)
	require.NoError(t, l.Write(Entry{Event: "newer"}))
	now = now.Add(2 * time.Hour)
	got, err := l.Recent(100, "")
	require.NoError(t, err)
	require.Len(t, got, 1, "the 25 h old entry is past retention")
	require.Equal(t, "newer", got[0].Event)
	require.NoError(t, l.Write(Entry{Event: "newest"}))
	require.FileExists(t, filepath.Join(dir, "audit.log.1"), "the current file rotated: its first entry was too old")
	// The file's modification time is its newest entry's (written at now).
	require.NoError(t, os.Chtimes(filepath.Join(dir, "audit.log.1"), now.Add(-2*time.Hour), now.Add(-2*time.Hour)))
	now = now.Add(24 * time.Hour)
	require.NoError(t, l.Write(Entry{Event: "later"}))
	require.NoFileExists(t, filepath.Join(dir, "audit.log.1"), "a file with only expired entries is deleted")
	require.NoError(t, l.Close())
}

type sink struct {
	mu sync.Mutex
	es []Entry
}

func (s *sink) write(e Entry) { s.mu.Lock(); s.es = append(s.es, e); s.mu.Unlock() }

// TestFailedLoginsAggregated: a flood of failed logins from one client is
// one line at once and one with the count at the end of the window.
func TestFailedLoginsAggregated(t *testing.T) {
	var s sink
	reg := prometheus.NewRegistry()
	r := NewRecorder(s.write, reg)
	for i := range 1000 {
		r.Request(Request{Kind: "login_failed", User: fmt.Sprintf("guess%d", i), Remote: "192.0.2.1", Method: "GET", Path: "/api/v1/query", Status: 401})
	}
	for i := range 500 {
		r.Request(Request{Kind: "login_failed", User: "x", Remote: fmt.Sprintf("2001:db8::%x", i+1), Status: 401})
	}
	for i := range 300 {
		r.Request(Request{Kind: "login_failed", User: "x", Remote: fmt.Sprintf("198.51.100.%d", i%250), Status: 401})
		r.Request(Request{Kind: "login_failed", User: "x", Remote: fmt.Sprintf("203.0.113.%d", i%250), Status: 401})
	}
	require.LessOrEqual(t, len(s.es), maxClients+1)
	require.Equal(t, 1, s.es[0].Count)
	require.Equal(t, "guess0", s.es[0].User)
	r.Flush()
	require.LessOrEqual(t, len(s.es), 2*(maxClients+1))
	total := 0
	for _, e := range s.es {
		total += e.Count
		require.Equal(t, "login_failed", e.Event)
	}
	require.Equal(t, 2100, total, "every failure is counted in some line")
	require.Equal(t, 2100.0, testutil.ToFloat64(r.failures.WithLabelValues("login_failed")))
	n := len(s.es)
	r.Request(Request{Kind: "login_failed", User: "again", Remote: "192.0.2.1", Status: 401})
	require.Len(t, s.es, n+1, "a new window writes the first failure at once")
}

// TestMachineWritesCounted: pushes and alert posts are metrics; silences,
// acks, reloads are audit lines.
func TestMachineWritesCounted(t *testing.T) {
	var s sink
	r := NewRecorder(s.write, prometheus.NewRegistry())
	for _, p := range []string{"/api/v1/write", "/api/v1/otlp/v1/metrics", "/api/v2/alerts", "/alertmanager/api/v2/alerts", "/api/v2/alerts/"} {
		r.Request(Request{Kind: "write", User: "prom", Method: "POST", Path: p, Status: 200})
	}
	require.Empty(t, s.es)
	require.Equal(t, 3.0, testutil.ToFloat64(r.machine.WithLabelValues("alerts", "200")))
	r.Request(Request{Kind: "write", User: "op", Method: "POST", Path: "/api/v2/silences", Status: 200})
	r.Request(Request{Kind: "admin_read", User: "adm", Method: "GET", Path: "/api/v1/status/config", Status: 200})
	// Spelled as the router also serves them: classified the same, kept
	// as sent.
	r.Request(Request{Kind: "write", User: "op", Method: "POST", Path: "/API/v2/Silences/", Status: 200})
	r.Request(Request{Kind: "write", User: "op", Method: "DELETE", Path: "//api/v1/appliance/./acks/0abc", Status: 200})
	r.Request(Request{Kind: "write", User: "prom", Method: "POST", Path: "/ALERTMANAGER/api/V2/alerts", Status: 200})
	require.Len(t, s.es, 4)
	require.Equal(t, "silence_create_or_update", s.es[0].Event)
	require.Equal(t, "admin_call", s.es[1].Event)
	require.Equal(t, "silence_create_or_update", s.es[2].Event)
	require.Equal(t, "/API/v2/Silences/", s.es[2].Path)
	require.Equal(t, "unack", s.es[3].Event)
	require.Equal(t, 4.0, testutil.ToFloat64(r.machine.WithLabelValues("alerts", "200")))
}

func TestEventFor(t *testing.T) {
	cases := map[[2]string]string{
		{"POST", "/-/reload"}:                     "reload_request",
		{"POST", "/alertmanager/api/v2/silences"}: "silence_create_or_update",
		{"post", "/api/v2/silences"}:              "silence_create_or_update",
		{"DELETE", "/api/v2/silence/abc"}:         "silence_expire",
		{"POST", "/api/v1/appliance/acks"}:        "ack",
		{"DELETE", "/api/v1/appliance/acks/0123"}: "unack",
		{"POST", "/api/v1/admin/tsdb/snapshot"}:   "tsdb_admin",
		{"GET", "/api/v1/status/config"}:          "admin_call",
	}
	for in, want := range cases {
		require.Equal(t, want, EventFor(in[0], in[1]), in)
	}
}
