// Package audit writes one JSON line per security-relevant event — config
// reloads, silence and ack changes, admin calls, failed logins, silences and
// acks received by gossip — to a rotated file in the data directory, kept by
// size and by age, and reads them back for admins.
//
// Whatever a caller controls is cut to a length before it is written
// (STYLE.md 22), failed logins are aggregated per client, and machine
// traffic is counted in metrics instead (recorder.go), so that no caller, and
// no anonymous one above all, can rotate the real events away or hide them.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Entry is one audit record. It never holds a secret: request bodies are
// not recorded, only who did what to which path and the outcome.
type Entry struct {
	Time   time.Time         `json:"time"`
	Event  string            `json:"event"`
	User   string            `json:"user,omitempty"`
	Role   string            `json:"role,omitempty"`
	Remote string            `json:"remote,omitempty"`
	Method string            `json:"method,omitempty"`
	Path   string            `json:"path,omitempty"`
	Status int               `json:"status,omitempty"`
	Result string            `json:"result,omitempty"`
	Error  string            `json:"error,omitempty"`
	Files  map[string]string `json:"files,omitempty"` // path -> sha256, for reloads
	// Count is how many events one line stands for (failed logins of one
	// client in one window); 0 means one.
	Count int `json:"count,omitempty"`
	// Peer is the cluster member a gossiped change came from.
	Peer string `json:"peer,omitempty"`
	// ID names the object changed (a silence ID, an ack fingerprint).
	ID string `json:"id,omitempty"`
	// Detail describes a gossiped change (matchers, end, comment).
	Detail string `json:"detail,omitempty"`
}

// Limits on the fields of an entry. A longer value is cut and marked.
const (
	MaxNameLen  = 128  // user, role, remote, method, event, result, peer, ID
	MaxPathLen  = 512  // path
	MaxErrorLen = 2048 // error
	MaxFiles    = 64   // reload entries list at most this many files
	// maxLineLen is what the reader accepts; a longer line (an older
	// version wrote unbounded ones) is skipped, not the end of the file.
	maxLineLen = 1 << 20
)

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…[cut]"
	cut := n - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// bounded returns e with every field cut to its limit.
func bounded(e Entry) Entry {
	for _, f := range []*string{&e.Event, &e.User, &e.Role, &e.Remote, &e.Method, &e.Result, &e.Peer, &e.ID} {
		*f = Truncate(*f, MaxNameLen)
	}
	e.Path = Truncate(e.Path, MaxPathLen)
	e.Detail = Truncate(e.Detail, MaxPathLen)
	e.Error = Truncate(e.Error, MaxErrorLen)
	if len(e.Files) > 0 {
		files := make(map[string]string, min(len(e.Files), MaxFiles))
		keys := make([]string, 0, len(e.Files))
		for k := range e.Files {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys[:min(len(keys), MaxFiles)] {
			files[Truncate(k, MaxPathLen)] = Truncate(e.Files[k], MaxNameLen)
		}
		e.Files = files
	}
	return e
}

// Options configure the log.
type Options struct {
	Dir string
	// MaxBytes bounds all files together (default 50 MiB); the current
	// file rotates at MaxBytes/Files.
	MaxBytes int64
	// MaxAge drops entries older than this (0: kept until MaxBytes).
	MaxAge time.Duration
	// Files is how many files make up the log, the current one included
	// (default 5).
	Files int
}

// Log is the audit log.
type Log struct {
	path     string
	fileMax  int64
	keep     int // rotated files kept: audit.log.1 … audit.log.keep
	maxAge   time.Duration
	now      func() time.Time
	lastPrun time.Time

	mtx       sync.Mutex
	f         *os.File
	size      int64
	firstTime time.Time // of the current file's first entry; zero if unknown or empty
}

// Open opens (creating) dir/audit.log.
func Open(o Options) (*Log, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 50 << 20
	}
	if o.Files <= 1 {
		o.Files = 5
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create audit dir: %w", err)
	}
	l := &Log{
		path: filepath.Join(o.Dir, "audit.log"), fileMax: max(o.MaxBytes/int64(o.Files), 4096),
		keep: o.Files - 1, maxAge: o.MaxAge, now: time.Now,
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.size > 0 {
		l.firstTime = firstTime(l.path)
	}
	l.mtx.Lock()
	err := l.prune()
	l.mtx.Unlock()
	if err != nil {
		l.f.Close()
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size, l.firstTime = f, fi.Size(), time.Time{}
	return nil
}

// Write appends an entry, its fields cut to their limits.
func (l *Log) Write(e Entry) error {
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	b, err := json.Marshal(bounded(e))
	if err != nil {
		return err
	}
	b = append(b, '\n')
	l.mtx.Lock()
	defer l.mtx.Unlock()
	if err := l.prune(); err != nil {
		return err
	}
	if l.size+int64(len(b)) > l.fileMax && l.size > 0 {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	if l.size == 0 {
		l.firstTime = e.Time
	}
	l.size += int64(n)
	return err
}

func (l *Log) rotate() error {
	l.f.Close()
	for i := l.keep - 1; i >= 1; i-- {
		_ = os.Rename(l.rotated(i), l.rotated(i+1))
	}
	_ = os.Remove(l.rotated(l.keep + 1))
	if err := os.Rename(l.path, l.rotated(1)); err != nil {
		return fmt.Errorf("rotate audit log: %w", err)
	}
	return l.open()
}

func (l *Log) rotated(i int) string { return fmt.Sprintf("%s.%d", l.path, i) }

// prune enforces the age limit, at most once a minute: rotated files whose
// newest entry (their modification time) is too old are deleted, and the
// current file rotates once its first entry is too old, so that it too
// ages out as a whole. Called with mtx held.
func (l *Log) prune() error {
	if l.maxAge <= 0 {
		return nil
	}
	now := l.now()
	if d := now.Sub(l.lastPrun); d >= 0 && d < time.Minute {
		return nil
	}
	l.lastPrun = now
	cutoff := now.Add(-l.maxAge)
	for i := 1; i <= l.keep; i++ {
		if fi, err := os.Stat(l.rotated(i)); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.Remove(l.rotated(i))
		}
	}
	if l.size > 0 && !l.firstTime.IsZero() && l.firstTime.Before(cutoff) {
		return l.rotate()
	}
	return nil
}

// firstTime is the time of the first readable entry of a file.
func firstTime(path string) time.Time {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	var t time.Time
	_ = readLines(f, func(line []byte) bool {
		var e Entry
		if json.Unmarshal(line, &e) == nil {
			t = e.Time
			return false
		}
		return true
	})
	return t
}

// readLines calls fn for each line up to maxLineLen bytes until fn returns
// false; longer lines are skipped whole.
func readLines(r io.Reader, fn func([]byte) bool) error {
	br := bufio.NewReaderSize(r, maxLineLen)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Too long: drop it and the rest of it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return ignoreEOF(err)
			}
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 && !fn(line) {
			return nil
		}
		if err != nil {
			return ignoreEOF(err)
		}
	}
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// Recent returns up to limit entries, newest first, optionally of one event.
// Entries older than the age limit are left out even while their file is
// still there.
func (l *Log) Recent(limit int, event string) ([]Entry, error) {
	l.mtx.Lock()
	files := []string{l.path}
	for i := 1; i <= l.keep; i++ {
		files = append(files, l.rotated(i))
	}
	l.mtx.Unlock()
	var cutoff time.Time
	if l.maxAge > 0 {
		cutoff = l.now().Add(-l.maxAge)
	}
	var out []Entry
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var es []Entry
		_ = readLines(f, func(line []byte) bool {
			var e Entry
			if json.Unmarshal(line, &e) == nil && (event == "" || e.Event == event) && !e.Time.Before(cutoff) {
				es = append(es, e)
			}
			return true
		})
		f.Close()
		out = append(out, es...)
		if len(out) >= limit*4 {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mtx.Lock()
	defer l.mtx.Unlock()
	return l.f.Close()
}

// EventFor names a write request the way an auditor reads it.
func EventFor(method, path string) string {
	p := strings.TrimPrefix(path, "/alertmanager")
	method = strings.ToUpper(method)
	switch {
	case p == "/-/reload":
		return "reload_request" // the reload itself is audited as config_reload
	case p == "/api/v2/silences" && method == "POST":
		return "silence_create_or_update"
	case strings.HasPrefix(p, "/api/v2/silence/") && method == "DELETE":
		return "silence_expire"
	case p == "/api/v1/appliance/acks" && method == "POST":
		return "ack"
	case strings.HasPrefix(p, "/api/v1/appliance/acks/") && method == "DELETE":
		return "unack"
	case p == "/api/v2/alerts":
		return "alerts_post"
	case strings.HasPrefix(p, "/api/v1/admin/"):
		return "tsdb_admin"
	}
	return "admin_call"
}
