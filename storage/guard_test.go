package storage

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

type fakeAppender struct {
	promstorage.AppenderV2
	committed, rolledBack bool
}

func (f *fakeAppender) Commit() error   { f.committed = true; return nil }
func (f *fakeAppender) Rollback() error { f.rolledBack = true; return nil }

type fakeAppendable struct{ last *fakeAppender }

func (f *fakeAppendable) AppenderV2(context.Context) promstorage.AppenderV2 {
	f.last = &fakeAppender{}
	return f.last
}

func TestFreeSpaceGuard(t *testing.T) {
	dir := t.TempDir()
	inner := &fakeAppendable{}

	// A reserve no filesystem has: every commit is refused and rolled back.
	g := NewFreeSpaceGuard(dir, 1<<62, prometheus.NewRegistry())
	err := g.Wrap(inner).AppenderV2(context.Background()).Commit()
	require.True(t, errors.Is(err, ErrDiskFull), err)
	require.True(t, inner.last.rolledBack)
	require.False(t, inner.last.committed)

	// A reserve of one byte: commits pass.
	g = NewFreeSpaceGuard(dir, 1, prometheus.NewRegistry())
	require.NoError(t, g.Wrap(inner).AppenderV2(context.Background()).Commit())
	require.True(t, inner.last.committed)
}

// TestFreeSpaceGuardReportsTransitions: OnChange hears each change between
// refusing and accepting once, not once per commit.
func TestFreeSpaceGuardReportsTransitions(t *testing.T) {
	g := NewFreeSpaceGuard(t.TempDir(), 1<<62, prometheus.NewRegistry())
	var got []bool
	g.OnChange(func(full bool, err error) {
		got = append(got, full)
		require.Equal(t, full, err != nil)
	})
	app := g.Wrap(&fakeAppendable{})
	for range 3 {
		_ = app.AppenderV2(context.Background()).Commit()
	}
	require.True(t, g.Full())
	g.reserve = 1
	for range 3 {
		require.NoError(t, app.AppenderV2(context.Background()).Commit())
	}
	require.Equal(t, []bool{true, false}, got)
	require.False(t, g.Full())
}
