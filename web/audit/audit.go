// Package audit writes one JSON line per security-relevant event — config
// reloads, silence and ack changes, admin calls, failed logins — to a
// size-rotated file in the data directory, and reads them back for admins.
package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
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
}

// Log is the audit log.
type Log struct {
	path     string
	maxBytes int64
	keep     int

	mtx  sync.Mutex
	f    *os.File
	size int64
}

// Open opens (creating) dir/audit.log. Files rotate at maxBytes; keep old
// files are kept as audit.log.1 … audit.log.N.
func Open(dir string, maxBytes int64, keep int) (*Log, error) {
	if maxBytes <= 0 {
		maxBytes = 10 << 20
	}
	if keep <= 0 {
		keep = 5
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create audit dir: %w", err)
	}
	l := &Log{path: filepath.Join(dir, "audit.log"), maxBytes: maxBytes, keep: keep}
	if err := l.open(); err != nil {
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
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends an entry.
func (l *Log) Write(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	l.mtx.Lock()
	defer l.mtx.Unlock()
	if l.size+int64(len(b)) > l.maxBytes && l.size > 0 {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	return err
}

func (l *Log) rotate() error {
	l.f.Close()
	for i := l.keep - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1))
	}
	_ = os.Remove(fmt.Sprintf("%s.%d", l.path, l.keep+1))
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate audit log: %w", err)
	}
	return l.open()
}

// Recent returns up to limit entries, newest first, optionally of one event.
func (l *Log) Recent(limit int, event string) ([]Entry, error) {
	l.mtx.Lock()
	files := []string{l.path}
	for i := 1; i <= l.keep; i++ {
		files = append(files, fmt.Sprintf("%s.%d", l.path, i))
	}
	l.mtx.Unlock()
	var out []Entry
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var es []Entry
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e Entry
			if json.Unmarshal(sc.Bytes(), &e) == nil && (event == "" || e.Event == event) {
				es = append(es, e)
			}
		}
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
