package appliance

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/smm-architect/smm-appliance/storage"
	"github.com/smm-architect/smm-appliance/web"
)

// readyStorage is local storage before and after the TSDB has opened, as
// Prometheus' readyStorage in cmd/prometheus/main.go: every part (remote
// write, the fanout, rules, the Prometheus API) is built on it in New,
// while the TSDB actor replays the WAL, and answers tsdb.ErrNotReady until
// Set. Building the API this way hides its cost behind the replay.
type readyStorage struct {
	db atomic.Pointer[storage.Local]
}

var (
	_ promstorage.Storage = (*readyStorage)(nil)
	_ web.Storage         = (*readyStorage)(nil)
)

// Set makes the open TSDB the storage.
func (s *readyStorage) Set(db *storage.Local) { s.db.Store(db) }

// get returns the open TSDB, or nil while it opens.
func (s *readyStorage) get() *storage.Local { return s.db.Load() }

// StartTime implements promstorage.Storage.
func (s *readyStorage) StartTime() (int64, error) {
	if db := s.get(); db != nil {
		return db.StartTime()
	}
	return math.MaxInt64, tsdb.ErrNotReady
}

// Querier implements promstorage.Queryable.
func (s *readyStorage) Querier(mint, maxt int64) (promstorage.Querier, error) {
	if db := s.get(); db != nil {
		return db.Querier(mint, maxt)
	}
	return nil, tsdb.ErrNotReady
}

// ChunkQuerier implements promstorage.ChunkQueryable.
func (s *readyStorage) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	if db := s.get(); db != nil {
		return db.ChunkQuerier(mint, maxt)
	}
	return nil, tsdb.ErrNotReady
}

// ExemplarQuerier implements promstorage.ExemplarQueryable.
func (s *readyStorage) ExemplarQuerier(ctx context.Context) (promstorage.ExemplarQuerier, error) {
	if db := s.get(); db != nil {
		return db.ExemplarQuerier(ctx)
	}
	return nil, tsdb.ErrNotReady
}

// Appender implements promstorage.Appendable.
func (s *readyStorage) Appender(ctx context.Context) promstorage.Appender {
	if db := s.get(); db != nil {
		return db.Appender(ctx)
	}
	return notReadyAppender{}
}

// AppenderV2 implements promstorage.AppendableV2.
func (s *readyStorage) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	if db := s.get(); db != nil {
		return db.AppenderV2(ctx)
	}
	return notReadyAppenderV2{}
}

// Close closes the TSDB if it is open. The TSDB actor never leaves it
// half open: Close runs after every actor has returned.
func (s *readyStorage) Close() error {
	if db := s.get(); db != nil {
		return db.Close()
	}
	return nil
}

// CleanTombstones implements apiv1.TSDBAdminStats.
func (s *readyStorage) CleanTombstones() error {
	if db := s.get(); db != nil {
		return db.CleanTombstones()
	}
	return tsdb.ErrNotReady
}

// Delete implements apiv1.TSDBAdminStats.
func (s *readyStorage) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if db := s.get(); db != nil {
		return db.Delete(ctx, mint, maxt, ms...)
	}
	return tsdb.ErrNotReady
}

// Snapshot implements apiv1.TSDBAdminStats.
func (s *readyStorage) Snapshot(dir string, withHead bool) error {
	if db := s.get(); db != nil {
		return db.Snapshot(dir, withHead)
	}
	return tsdb.ErrNotReady
}

// Stats implements apiv1.TSDBAdminStats.
func (s *readyStorage) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	if db := s.get(); db != nil {
		return db.Stats(statsByLabelName, limit)
	}
	return nil, tsdb.ErrNotReady
}

// WALReplayStatus implements apiv1.TSDBAdminStats.
func (s *readyStorage) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	if db := s.get(); db != nil {
		return db.WALReplayStatus()
	}
	return tsdb.WALReplayStatus{}, tsdb.ErrNotReady
}

// BlockMetas implements apiv1.TSDBAdminStats.
func (s *readyStorage) BlockMetas() ([]tsdb.BlockMeta, error) {
	if db := s.get(); db != nil {
		return db.BlockMetas()
	}
	return nil, tsdb.ErrNotReady
}

type notReadyAppender struct{}

func (notReadyAppender) SetOptions(*promstorage.AppendOptions) {}

func (notReadyAppender) Append(promstorage.SeriesRef, labels.Labels, int64, float64) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppender) AppendExemplar(promstorage.SeriesRef, labels.Labels, exemplar.Exemplar) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppender) AppendHistogram(promstorage.SeriesRef, labels.Labels, int64, *histogram.Histogram, *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppender) AppendHistogramSTZeroSample(promstorage.SeriesRef, labels.Labels, int64, int64, *histogram.Histogram, *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppender) UpdateMetadata(promstorage.SeriesRef, labels.Labels, metadata.Metadata) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppender) AppendSTZeroSample(promstorage.SeriesRef, labels.Labels, int64, int64) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppender) Commit() error { return tsdb.ErrNotReady }

func (notReadyAppender) Rollback() error { return tsdb.ErrNotReady }

type notReadyAppenderV2 struct{}

var _ promstorage.ExemplarAppenderV2 = notReadyAppenderV2{}

func (notReadyAppenderV2) Append(promstorage.SeriesRef, labels.Labels, int64, int64, float64, *histogram.Histogram, *histogram.FloatHistogram, promstorage.AOptions) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppenderV2) AppendExemplars(promstorage.SeriesRef, labels.Labels, []exemplar.Exemplar) (promstorage.SeriesRef, error) {
	return 0, tsdb.ErrNotReady
}

func (notReadyAppenderV2) Commit() error { return tsdb.ErrNotReady }

func (notReadyAppenderV2) Rollback() error { return tsdb.ErrNotReady }
