// Package persist keeps a file on disk in step with in-memory state that
// changes often: silences, the notification log, the alert store and the
// ack/escalation state.
//
// Writers mark a change and return at once (marking never blocks, so it is
// safe from inside another library's lock or from the notification path); a
// background loop coalesces bursts into one write of the whole state. Flush
// lets an API handler wait until its change is on disk before it answers.
// Every write replaces the file atomically, so a crash leaves either the old
// or the new state, never a torn file.
package persist

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrNotDurable is returned (wrapped) when a change cannot be made durable:
// the last write failed, or the filesystem lacks the room for the next one.
// Callers that answer a client refuse the change and roll it back (HTTP
// 507), so nothing is answered as done that a crash would lose.
var ErrNotDurable = errors.New("change not durable: state file cannot be written")

// Headroom is the free space, beyond the size of the last snapshot, a File
// wants before it accepts a change from a client: the new snapshot is
// written beside the old one before the rename.
const Headroom = 1 << 20

// Snapshotter writes the whole current state.
type Snapshotter interface {
	Snapshot(w io.Writer) (int64, error)
}

// SnapshotFunc adapts a function to Snapshotter.
type SnapshotFunc func(w io.Writer) (int64, error)

// Snapshot calls f.
func (f SnapshotFunc) Snapshot(w io.Writer) (int64, error) { return f(w) }

// File is one state file kept up to date by a background loop.
type File struct {
	name   string
	path   string
	src    Snapshotter
	logger *slog.Logger

	mtx      sync.Mutex
	cond     *sync.Cond
	version  uint64 // bumped by Mark
	written  uint64 // version covered by the last successful write
	closed   bool
	flushers int // Flush calls waiting
	lastErr  error
	failedAt uint64 // version of the last failed write
	lastSize int64  // bytes of the last successful snapshot

	minInterval time.Duration
	wake        chan struct{}
	done        chan struct{}
}

// RetryInterval is how often a failed write (disk full) is retried: a change
// must not wait for the next change to reach the disk.
const RetryInterval = time.Second

// New returns a File; call Run in a goroutine before Flush or Close.
// Marked changes are written at most once per minInterval (0: as soon as
// the previous write is done); a Flush or Close writes at once. A crash
// loses at most the changes of the last minInterval that nobody flushed.
func New(name, path string, src Snapshotter, minInterval time.Duration, logger *slog.Logger) *File {
	f := &File{name: name, path: path, src: src, logger: logger, minInterval: minInterval, wake: make(chan struct{}, 1), done: make(chan struct{})}
	f.cond = sync.NewCond(&f.mtx)
	return f
}

// Mark records a change. It never blocks on I/O.
func (f *File) Mark() {
	f.mtx.Lock()
	f.version++
	f.mtx.Unlock()
	f.poke()
}

func (f *File) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run writes snapshots until Close.
func (f *File) Run() {
	defer close(f.done)
	retry := time.NewTicker(RetryInterval)
	defer retry.Stop()
	var (
		last    time.Time // of the last write
		delay   *time.Timer
		delayed <-chan time.Time // set while a write waits for MinInterval
	)
	for {
		select {
		case <-f.wake:
		case <-delayed:
			delayed = nil
		case <-retry.C:
			f.mtx.Lock()
			failed := f.lastErr != nil && !f.closed
			f.mtx.Unlock()
			if !failed {
				continue
			}
		}
		f.mtx.Lock()
		v, written, closed, urgent := f.version, f.written, f.closed, f.flushers > 0
		f.mtx.Unlock()
		if v != written {
			// Spread writes at least MinInterval apart unless someone
			// waits for this one: the whole state is written each time,
			// and in a storm changes never stop.
			if wait := f.minInterval - time.Since(last); wait > 0 && !closed && !urgent {
				if delayed == nil {
					if delay == nil {
						delay = time.NewTimer(wait)
					} else {
						delay.Reset(wait)
					}
					delayed = delay.C
				}
				continue
			}
			last = time.Now()
			var size int64
			err := WriteAtomic(f.path, func(w io.Writer) error {
				var err error
				size, err = f.src.Snapshot(w)
				return err
			})
			f.mtx.Lock()
			f.lastErr = err
			if err == nil {
				f.written, f.lastSize = v, size
			} else {
				f.failedAt = v
			}
			f.cond.Broadcast()
			f.mtx.Unlock()
			if err != nil {
				f.logger.Error("persist snapshot", "component", f.name, "err", err)
			}
		}
		if closed {
			return
		}
	}
}

// Flush waits until every change marked before the call is written, or a
// write that covered them failed; that error wraps ErrNotDurable (the loop
// keeps retrying the whole state). An earlier failure does not fail a later
// Flush: it waits for a write attempt of its own.
func (f *File) Flush() error {
	f.mtx.Lock()
	target := f.version
	if f.written >= target {
		f.mtx.Unlock()
		return nil
	}
	f.flushers++
	f.mtx.Unlock()
	f.poke()
	f.mtx.Lock()
	defer func() { f.flushers--; f.mtx.Unlock() }()
	for f.written < target && !f.closed {
		if f.lastErr != nil && f.failedAt >= target {
			return fmt.Errorf("%w: %w", ErrNotDurable, f.lastErr)
		}
		f.cond.Wait()
	}
	if f.written < target {
		return fmt.Errorf("%w: closed before the change was written: %w", ErrNotDurable, f.lastErr)
	}
	return nil
}

// CheckRoom reports, before a client's change is applied, whether it can be
// made durable: nil, or an error wrapping ErrNotDurable when the last write
// failed or the filesystem has less free space than the last snapshot plus
// Headroom. The check is advisory (space can vanish between it and the
// write); callers still Flush and roll back on failure.
func (f *File) CheckRoom() error {
	f.mtx.Lock()
	lastErr, size := f.lastErr, f.lastSize
	f.mtx.Unlock()
	if lastErr != nil {
		return fmt.Errorf("%w: %w", ErrNotDurable, lastErr)
	}
	free, err := FreeBytes(filepath.Dir(f.path))
	if err != nil {
		return nil // cannot tell: let the write decide
	}
	if need := uint64(size) + Headroom; free < need {
		return fmt.Errorf("%w: %s: %d bytes free, %d needed", ErrNotDurable, f.path, free, need)
	}
	return nil
}

// FreeBytes is the space available to the process on path's filesystem.
func FreeBytes(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// Close writes a final snapshot, stops the loop and reports the last write
// error, if the final write failed.
func (f *File) Close() error {
	f.mtx.Lock()
	if f.closed {
		f.mtx.Unlock()
		<-f.done
		return f.lastErr
	}
	f.version++ // always write a final snapshot
	f.closed = true
	f.cond.Broadcast()
	f.mtx.Unlock()
	f.poke()
	<-f.done
	return f.lastErr
}

// WriteAtomic replaces path with what write produces: temp file in the same
// directory, fsync, rename. Readers see the old or the new content, never a
// mix; on error the old file stays and no temp file is left.
func WriteAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), os.Remove(f.Name()))
	}
	return nil
}
