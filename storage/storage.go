// Package storage opens the appliance's local time-series database: the
// Prometheus TSDB with its write-ahead log, in a subfolder of the data
// directory, with retention by time and by size.
package storage

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb"
)

// Options are the operator-facing TSDB settings.
type Options struct {
	Path              string        // e.g. ./data/tsdb
	RetentionDuration time.Duration // 0 means the default of 15d
	RetentionBytes    int64         // 0 means no size limit
}

// DefaultRetention matches Prometheus' default.
const DefaultRetention = 15 * 24 * time.Hour

// Local is the open TSDB with its statistics.
type Local struct {
	*tsdb.DB
	stats *tsdb.DBStats
}

// Open opens (creating if needed) the TSDB and replays its WAL. It registers
// the prometheus_tsdb_* metrics on reg.
func Open(o Options, logger *slog.Logger, reg prometheus.Registerer) (*Local, error) {
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = int64(DefaultRetention / time.Millisecond)
	if o.RetentionDuration > 0 {
		opts.RetentionDuration = int64(o.RetentionDuration / time.Millisecond)
	}
	opts.MaxBytes = o.RetentionBytes
	// Out-of-order samples arrive from the simulator's backfill and remote
	// write clients; a small window keeps them instead of failing appends.
	opts.OutOfOrderTimeWindow = int64((30 * time.Minute) / time.Millisecond)
	stats := tsdb.NewDBStats()
	db, err := tsdb.Open(o.Path, logger.With("component", "tsdb"), reg, opts, stats)
	if err != nil {
		return nil, fmt.Errorf("open tsdb %s: %w", o.Path, err)
	}
	return &Local{DB: db, stats: stats}, nil
}
