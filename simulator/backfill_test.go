package simulator

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
)

// TestBackfill: three hours at a one-minute step become 2-hour-aligned
// blocks whose series carry the scrape's job and instance labels and
// normalized le values, one sample per step; a dir with blocks then counts
// as holding data, and a backfill without fixed ports is refused.
func TestBackfill(t *testing.T) {
	opts := DefaultOptions()
	opts.Start = time.Date(2026, 3, 10, 7, 30, 0, 0, time.UTC)
	opts.Seed = 1
	s, err := New(opts, promslog.NewNopLogger())
	require.NoError(t, err)
	dir := t.TempDir()
	require.False(t, TSDBHasData(dir))
	until := opts.Start.Add(3 * time.Hour)
	res, err := s.Backfill(context.Background(), dir, until, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 3, res.Blocks, "07:30-08:00, 08:00-10:00 and 10:00-10:30")
	require.Equal(t, until, s.Now(), "the live run continues from the backfill's end")
	require.True(t, TSDBHasData(dir))

	db, err := tsdb.OpenDBReadOnly(dir, "", promslog.NewNopLogger())
	require.NoError(t, err)
	defer db.Close()
	blocks, err := db.Blocks()
	require.NoError(t, err)
	require.Len(t, blocks, res.Blocks)
	for _, b := range blocks {
		require.LessOrEqual(t, b.Meta().MaxTime-b.Meta().MinTime, (2*time.Hour).Milliseconds()+1, "blocks within the head's 2 h range")
	}
	q, err := db.Querier(opts.Start.UnixMilli(), until.UnixMilli())
	require.NoError(t, err)
	defer q.Close()
	count := func(ms ...*labels.Matcher) (series, samples int) {
		ss := q.Select(context.Background(), false, nil, ms...)
		for ss.Next() {
			series++
			it := ss.At().Iterator(nil)
			for it.Next() != 0 {
				samples++
			}
		}
		require.NoError(t, ss.Err())
		return
	}
	series, samples := count(labels.MustNewMatcher(labels.MatchEqual, "__name__", "smm_http_requests_total"),
		labels.MustNewMatcher(labels.MatchEqual, "job", JobAPI), labels.MustNewMatcher(labels.MatchEqual, "instance", "127.0.0.1:9106"),
		labels.MustNewMatcher(labels.MatchEqual, "handler", "/api/v1/posts"), labels.MustNewMatcher(labels.MatchEqual, "code", "200"))
	require.Equal(t, 1, series)
	require.Equal(t, 181, samples, "the start and 180 steps")
	// Histogram buckets as the scrape stores them (le="1.0", not "1").
	series, _ = count(labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+_bucket"), labels.MustNewMatcher(labels.MatchEqual, "le", "+Inf"))
	require.Positive(t, series)
	series, _ = count(labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+_bucket"), labels.MustNewMatcher(labels.MatchRegexp, "le", "[0-9]+"))
	require.Zero(t, series, "integer le values are written as 1.0")

	opts.BasePort = 0
	s, err = New(opts, promslog.NewNopLogger())
	require.NoError(t, err)
	_, err = s.Backfill(context.Background(), t.TempDir(), until, time.Minute)
	require.ErrorContains(t, err, "fixed --listen.base-port")
}

// TestListenHoldsPorts: Listen binds every job's port before the backfill
// runs, so a port another process takes meanwhile cannot break the live
// run afterwards (the backfill has named it in the instance label); Stop
// without Start releases them, and Start after Listen serves them.
func TestListenHoldsPorts(t *testing.T) {
	opts := DefaultOptions()
	opts.Host = "127.0.0.1"
	opts.BasePort = 0 // ephemeral ports: 9101-9111 belong to the demo
	opts.ControlAddress = ""
	s, err := New(opts, promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.Listen())
	addr := s.endpoints[0].ln.Addr().String()
	_, err = net.Listen("tcp", addr)
	require.Error(t, err, "the port is held between Listen and Start")
	require.NoError(t, s.Stop())
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "Stop without Start releases the ports")
	require.NoError(t, l.Close())

	s, err = New(opts, promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.Listen())
	require.NoError(t, s.Start())
	t.Cleanup(func() { require.NoError(t, s.Stop()) })
	resp, err := http.Get("http://" + s.endpoints[0].ln.Addr().String() + "/metrics")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
