package alertmanager

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// snapshotter is what silences and the notification log have in common.
type snapshotter interface {
	Snapshot(w io.Writer) (int64, error)
}

// persister writes a snapshot of silences or the notification log as soon as
// they change. Alertmanager itself snapshots every 15 minutes, so a crash
// loses recent silences and the record of sent notifications, which causes
// duplicate pages after restart; the appliance does not accept that.
//
// Changes are signalled from inside the libraries' locks, so mark never
// blocks; a background loop coalesces bursts into one write. Flush lets an
// API handler wait until a change it made is on disk before it answers.
type persister struct {
	name   string
	path   string
	src    snapshotter
	logger *slog.Logger

	mtx     sync.Mutex
	cond    *sync.Cond
	version uint64 // bumped by mark
	written uint64 // version covered by the last successful write
	closed  bool
	lastErr error
	wake    chan struct{}
	done    chan struct{}
}

func newPersister(name, path string, src snapshotter, logger *slog.Logger) *persister {
	p := &persister{name: name, path: path, src: src, logger: logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mtx)
	return p
}

// mark records a change. Safe to call with any lock held.
func (p *persister) mark() {
	p.mtx.Lock()
	p.version++
	p.mtx.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run writes snapshots until close. A failed write (disk full) is retried
// every retryInterval until it succeeds: a change must not wait for the next
// change to reach the disk.
func (p *persister) run() {
	defer close(p.done)
	retry := time.NewTicker(retryInterval)
	defer retry.Stop()
	for {
		select {
		case <-p.wake:
		case <-retry.C:
			p.mtx.Lock()
			failed := p.lastErr != nil && !p.closed
			p.mtx.Unlock()
			if !failed {
				continue
			}
		}
		p.mtx.Lock()
		v, closed := p.version, p.closed
		p.mtx.Unlock()
		if v != p.writtenVersion() {
			err := p.write()
			p.mtx.Lock()
			p.lastErr = err
			if err == nil {
				p.written = v
			}
			p.cond.Broadcast()
			p.mtx.Unlock()
			if err != nil {
				p.logger.Error("persist snapshot", "component", p.name, "err", err)
			}
		}
		if closed {
			return
		}
	}
}

const retryInterval = time.Second

func (p *persister) writtenVersion() uint64 {
	p.mtx.Lock()
	defer p.mtx.Unlock()
	return p.written
}

// flush waits until every change marked before the call is written, or the
// write failed.
func (p *persister) flush() error {
	p.mtx.Lock()
	target := p.version
	p.mtx.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	p.mtx.Lock()
	defer p.mtx.Unlock()
	for p.written < target && !p.closed {
		if p.lastErr != nil {
			return p.lastErr
		}
		p.cond.Wait()
	}
	return nil
}

// close writes a final snapshot and stops the loop.
func (p *persister) close() error {
	p.mtx.Lock()
	p.version++ // always write a final snapshot
	p.closed = true
	p.cond.Broadcast()
	p.mtx.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
	return p.lastErr
}

// write replaces the snapshot file atomically: temp file, fsync, rename.
func (p *persister) write() error {
	dir := filepath.Dir(p.path)
	f, err := os.CreateTemp(dir, filepath.Base(p.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	_, err = p.src.Snapshot(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p.path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("write snapshot %s: %w", p.path, err), os.Remove(f.Name()))
	}
	return nil
}
