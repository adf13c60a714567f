package storage

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
)

// ErrDiskFull is returned by Commit when the data directory's filesystem has
// less free space than the reserve.
var ErrDiskFull = errors.New("data directory nearly full: samples refused to protect the WAL")

// FreeSpaceGuard refuses commits while the data directory's filesystem is
// below a free-space reserve. The TSDB's WAL cannot recover from a write
// that runs out of space half way: the next start "repairs" the WAL by
// dropping every segment after the torn record (prometheus/prometheus
// #13027), losing hours of samples. Refusing whole batches before that
// point keeps the WAL consistent; scrapes and rule evaluations carry on in
// memory and the disk alert (which fires at a much larger margin) tells the
// operator.
type FreeSpaceGuard struct {
	path    string
	reserve uint64
	refused prometheus.Counter
	low     atomic.Bool
	notify  atomic.Pointer[func(full bool, err error)]
}

// OnChange sets a function called when the guard starts refusing commits
// (full, with the refusal) and when it accepts them again. It runs on the
// committing goroutine, once per transition: the appliance raises its
// storage-full alert in-process there, since no sample about the disk can
// be stored while it is full.
func (g *FreeSpaceGuard) OnChange(f func(full bool, err error)) { g.notify.Store(&f) }

// Full reports whether the guard refused the last commit.
func (g *FreeSpaceGuard) Full() bool { return g.low.Load() }

func (g *FreeSpaceGuard) changed(full bool, err error) {
	if f := g.notify.Load(); f != nil {
		(*f)(full, err)
	}
}

// NewFreeSpaceGuard guards the filesystem of path with reserve bytes.
func NewFreeSpaceGuard(path string, reserve uint64, reg prometheus.Registerer) *FreeSpaceGuard {
	g := &FreeSpaceGuard{path: path, reserve: reserve, refused: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smm_appliance_storage_commits_refused_total",
		Help: "Sample batches refused because the data directory was below its free-space reserve.",
	})}
	reg.MustRegister(g.refused)
	return g
}

// check returns ErrDiskFull when free space is below the reserve. statfs is
// a cheap syscall; one per commit (one per scrape or rule group) is nothing.
func (g *FreeSpaceGuard) check() error {
	if g.reserve == 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.path, &st); err != nil {
		return nil // cannot tell: let the TSDB decide
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < g.reserve {
		err := fmt.Errorf("%w (%d bytes free, reserve %d)", ErrDiskFull, free, g.reserve)
		if !g.low.Swap(true) {
			g.changed(true, err)
		}
		return err
	}
	if g.low.Swap(false) {
		g.changed(false, nil)
	}
	return nil
}

// Wrap returns an AppendableV2 whose commits pass the guard first.
func (g *FreeSpaceGuard) Wrap(app promstorage.AppendableV2) promstorage.AppendableV2 {
	return guardedAppendable{inner: app, g: g}
}

type guardedAppendable struct {
	inner promstorage.AppendableV2
	g     *FreeSpaceGuard
}

func (a guardedAppendable) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	inner := a.inner.AppenderV2(ctx)
	ga := &guardedAppender{AppenderV2: inner, g: a.g}
	// The remote write receiver needs exemplar support; keep what the
	// wrapped appender offers.
	if ex, ok := inner.(promstorage.ExemplarAppenderV2); ok {
		return &guardedExemplarAppender{guardedAppender: ga, ex: ex}
	}
	return ga
}

type guardedExemplarAppender struct {
	*guardedAppender
	ex promstorage.ExemplarAppenderV2
}

func (a *guardedExemplarAppender) AppendExemplars(ref promstorage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (promstorage.SeriesRef, error) {
	return a.ex.AppendExemplars(ref, ls, es)
}

type guardedAppender struct {
	promstorage.AppenderV2
	g *FreeSpaceGuard
}

func (a *guardedAppender) Commit() error {
	if err := a.g.check(); err != nil {
		a.g.refused.Inc()
		return errors.Join(err, a.AppenderV2.Rollback())
	}
	return a.AppenderV2.Commit()
}
