package storage

import (
	"github.com/prometheus/prometheus/tsdb"
)

// Stats reports head statistics for /api/v1/status/tsdb.
func (l *Local) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return l.Head().Stats(statsByLabelName, limit), nil
}

// WALReplayStatus reports WAL replay progress for /api/v1/status/walreplay.
func (l *Local) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return l.stats.Head.WALReplayStatus.GetWALReplayStatus(), nil
}

// BlockMetas lists the persisted blocks.
func (l *Local) BlockMetas() ([]tsdb.BlockMeta, error) {
	blocks := l.Blocks()
	metas := make([]tsdb.BlockMeta, 0, len(blocks))
	for _, b := range blocks {
		metas = append(metas, b.Meta())
	}
	return metas, nil
}
