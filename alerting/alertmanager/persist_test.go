package alertmanager

import (
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

type countingSource struct{ n atomic.Int64 }

func (c *countingSource) Snapshot(w io.Writer) (int64, error) {
	v := c.n.Add(1)
	n, err := w.Write([]byte{byte('0' + v%10)})
	return int64(n), err
}

// TestPersisterFlushWritesBeforeReturning: after mark and flush the file is
// on disk with the newest state; without a change no write happens.
func TestPersisterFlushWritesBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	src := &countingSource{}
	p := newPersister("test", filepath.Join(dir, "snap"), src, promslog.NewNopLogger())
	go p.run()

	require.NoError(t, p.flush()) // nothing marked: no write
	_, err := os.Stat(filepath.Join(dir, "snap"))
	require.True(t, os.IsNotExist(err))
	require.EqualValues(t, 0, src.n.Load())

	p.mark()
	require.NoError(t, p.flush())
	b, err := os.ReadFile(filepath.Join(dir, "snap"))
	require.NoError(t, err)
	require.Equal(t, "1", string(b))

	for range 100 {
		p.mark()
	}
	require.NoError(t, p.flush())
	require.LessOrEqual(t, src.n.Load(), int64(101), "bursts are coalesced")

	require.NoError(t, p.close())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp files left behind")
}

// TestPersisterReportsWriteErrors: a directory that cannot be written
// surfaces as an error from flush instead of a silent loss.
func TestPersisterReportsWriteErrors(t *testing.T) {
	p := newPersister("test", filepath.Join(t.TempDir(), "missing-dir", "snap"), &countingSource{}, promslog.NewNopLogger())
	go p.run()
	p.mark()
	require.Error(t, p.flush())
	require.Error(t, p.close())
}
