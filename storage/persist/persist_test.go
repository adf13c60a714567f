package persist

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

type countingSource struct{ n atomic.Int64 }

func (c *countingSource) Snapshot(w io.Writer) (int64, error) {
	v := c.n.Add(1)
	n, err := w.Write([]byte{byte('0' + v%10)})
	return int64(n), err
}

// TestFlushWritesBeforeReturning: after Mark and Flush the file is on disk
// with the newest state; without a change no write happens.
func TestFlushWritesBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	src := &countingSource{}
	f := New("test", filepath.Join(dir, "snap"), src, 0, promslog.NewNopLogger())
	go f.Run()

	require.NoError(t, f.Flush()) // nothing marked: no write
	_, err := os.Stat(filepath.Join(dir, "snap"))
	require.True(t, os.IsNotExist(err))
	require.EqualValues(t, 0, src.n.Load())

	f.Mark()
	require.NoError(t, f.Flush())
	b, err := os.ReadFile(filepath.Join(dir, "snap"))
	require.NoError(t, err)
	require.Equal(t, "1", string(b))

	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "a second Close is harmless")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp files left behind")
}

// blockingSource blocks each snapshot until the test releases it, so the
// test knows a write is in progress while it marks changes.
type blockingSource struct {
	n       atomic.Int64
	started chan struct{}
	release chan struct{}
}

func (b *blockingSource) Snapshot(w io.Writer) (int64, error) {
	b.n.Add(1)
	b.started <- struct{}{}
	<-b.release
	n, err := w.Write([]byte("x"))
	return int64(n), err
}

// TestBurstIsCoalesced: 1,000 changes marked while a write is in progress
// are covered by exactly one more write, not by one write each.
func TestBurstIsCoalesced(t *testing.T) {
	dir := t.TempDir()
	src := &blockingSource{started: make(chan struct{}), release: make(chan struct{})}
	f := New("test", filepath.Join(dir, "snap"), src, 0, promslog.NewNopLogger())
	go f.Run()

	f.Mark()
	<-src.started // the first write is in progress
	for range 1000 {
		f.Mark()
	}
	done := make(chan error)
	go func() { done <- f.Flush() }()
	src.release <- struct{}{}
	<-src.started // the second write: it covers all 1,000
	src.release <- struct{}{}
	require.NoError(t, <-done)
	require.EqualValues(t, 2, src.n.Load(), "1,000 marks during one write make one more write")

	go func() { <-src.started; src.release <- struct{}{} }()
	require.NoError(t, f.Close())
	require.EqualValues(t, 3, src.n.Load(), "close writes once more")
}

// TestWriteErrorsSurface: a path that cannot be written surfaces as an error
// from Flush and Close instead of a silent loss.
func TestWriteErrorsSurface(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	f := New("test", filepath.Join(blocker, "snap"), &countingSource{}, 0, promslog.NewNopLogger())
	go f.Run()
	f.Mark()
	err := f.Flush()
	require.ErrorIs(t, err, ErrNotDurable)
	require.ErrorIs(t, f.CheckRoom(), ErrNotDurable, "after a failed write, changes are refused up front")
	require.Error(t, f.Close())
}

// TestWriteAtomicKeepsOldContentOnError: a failing writer leaves the old
// file intact and no temp file.
func TestWriteAtomicKeepsOldContentOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, WriteAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("old")); return err }))
	err := WriteAtomic(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return errors.New("encoder failed")
	})
	require.ErrorContains(t, err, "encoder failed")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

// TestMinIntervalSpacesWritesButNotFlushes: marked changes are written at
// most once per interval, while a Flush writes at once.
func TestMinIntervalSpacesWritesButNotFlushes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snap")
	src := &countingSource{}
	f := New("test", path, src, time.Hour, promslog.NewNopLogger())
	go f.Run()
	defer f.Close()

	f.Mark()
	require.Eventually(t, func() bool { return src.n.Load() == 1 }, 5*time.Second, 5*time.Millisecond, "the first change is written at once")
	f.Mark()
	time.Sleep(100 * time.Millisecond)
	require.EqualValues(t, 1, src.n.Load(), "the second waits for the interval")

	start := time.Now()
	require.NoError(t, f.Flush())
	require.EqualValues(t, 2, src.n.Load(), "a flush writes at once")
	require.Less(t, time.Since(start), time.Minute)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "2", string(b))

	f.Mark()
	require.NoError(t, f.Close())
	require.EqualValues(t, 3, src.n.Load(), "close writes what is pending")
}
