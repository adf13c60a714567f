// Package history records every notification attempt, escalation and
// acknowledgement in the data directory, so operators can answer "what was
// sent, to whom, and did it arrive" after the fact (Alertmanager keeps only
// a dedup log: alertmanager issues #172, #2304). Retention is bounded by age
// and size.
package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kinds of entries.
const (
	KindNotification = "notification"
	KindEscalation   = "escalation"
	KindAck          = "ack"
	KindUnack        = "unack"
	// KindSnoozeLapsed: a snoozed ack ran out (its alert is unacked again).
	KindSnoozeLapsed = "snooze_lapsed"
)

// AlertRef identifies one alert in an entry.
type AlertRef struct {
	Fingerprint string `json:"fingerprint"`
	Alertname   string `json:"alertname"`
	Severity    string `json:"severity,omitempty"`
	Status      string `json:"status,omitempty"` // firing or resolved
	// Labels are the alert's labels at send time, to tell the alerts of
	// one notification apart and to filter by them.
	Labels map[string]string `json:"labels,omitempty"`
}

// Entry is one line of history.
type Entry struct {
	Time        time.Time  `json:"time"`
	Kind        string     `json:"kind"`
	Receiver    string     `json:"receiver,omitempty"`
	Integration string     `json:"integration,omitempty"`
	GroupKey    string     `json:"groupKey,omitempty"`
	Alerts      []AlertRef `json:"alerts,omitempty"`
	Success     bool       `json:"success"`
	// Logged marks a notification the log fallback handled (the receiver's
	// channels are disabled for lack of a secret): it succeeded as a log
	// line and reached nobody, which the console must not show as "sent".
	Logged bool `json:"logged,omitempty"`
	// Channel is where it went (a Slack channel, an address; never a URL
	// or key) and Message what was sent, rendered with the receiver's
	// templates, secrets removed (alertmanager/rendered.go).
	Channel         string  `json:"channel,omitempty"`
	Message         string  `json:"message,omitempty"`
	Error           string  `json:"error,omitempty"`
	DurationSeconds float64 `json:"durationSeconds,omitempty"`
	Attempt         int     `json:"attempt,omitempty"`
	Step            int     `json:"step,omitempty"`
	User            string  `json:"user,omitempty"`
	Comment         string  `json:"comment,omitempty"`
	// Reason, Via and Until of an ack (acks.Ack).
	Reason string     `json:"reason,omitempty"`
	Via    string     `json:"via,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
}

// Filter selects entries; zero fields match everything.
type Filter struct {
	Kind, Receiver, Alertname string
	// Fingerprint selects the entries of one alert (its detail page).
	Fingerprint string
	// Labels, when set, keeps the entries with an alert whose labels it
	// accepts (the API sets it from label matchers).
	Labels func(map[string]string) bool
	// Status is "success" (delivered or logged), "delivered" (success not
	// by the log fallback), "logged" (by the log fallback) or "failure".
	Status       string
	Since, Until time.Time
	Limit        int // newest first; 0 means 1000
}

func (f Filter) match(e *Entry) bool {
	switch {
	case f.Kind != "" && e.Kind != f.Kind,
		f.Receiver != "" && e.Receiver != f.Receiver,
		f.Status == "success" && !e.Success,
		f.Status == "failure" && e.Success,
		f.Status == "delivered" && (!e.Success || e.Logged),
		f.Status == "logged" && !e.Logged,
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && e.Time.After(f.Until):
		return false
	}
	if f.Alertname != "" && !slices.ContainsFunc(e.Alerts, func(a AlertRef) bool { return a.Alertname == f.Alertname }) {
		return false
	}
	if f.Fingerprint != "" && !slices.ContainsFunc(e.Alerts, func(a AlertRef) bool { return a.Fingerprint == f.Fingerprint }) {
		return false
	}
	if f.Labels != nil && !slices.ContainsFunc(e.Alerts, func(a AlertRef) bool { return f.Labels(a.labels()) }) {
		return false
	}
	return true
}

// labels are the alert's labels; entries written before labels were
// recorded know alertname and severity only.
func (a AlertRef) labels() map[string]string {
	if a.Labels != nil {
		return a.Labels
	}
	l := map[string]string{"alertname": a.Alertname}
	if a.Severity != "" {
		l["severity"] = a.Severity
	}
	return l
}

// Options bound the history.
type Options struct {
	Dir         string
	MaxAge      time.Duration // 0: 30 days
	MaxBytes    int64         // 0: 256 MiB
	SegmentSize int64         // 0: 4 MiB
}

// Store appends entries to JSON-lines segment files. Each append is written
// with one write(2) on an O_APPEND file, so a crash loses at most the entry
// being written, never earlier ones.
type Store struct {
	opts   Options
	logger *slog.Logger

	mtx     sync.Mutex
	cur     *os.File
	curSize int64
	curName string
	// recent holds the newest entries for fast queries; older ones are read
	// from disk.
	recent []Entry
}

const recentCap = 10000

// Open opens (creating) the history directory and loads recent entries.
func Open(o Options, logger *slog.Logger) (*Store, error) {
	if o.MaxAge == 0 {
		o.MaxAge = 30 * 24 * time.Hour
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 256 << 20
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = 4 << 20
	}
	if o.SegmentSize > o.MaxBytes {
		o.SegmentSize = o.MaxBytes
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create history dir: %w", err)
	}
	s := &Store{opts: o, logger: logger}
	segs, err := s.segments()
	if err != nil {
		return nil, err
	}
	// Load the newest entries, newest segment last.
	var all []Entry
	for i := len(segs) - 1; i >= 0 && len(all) < recentCap; i-- {
		es, err := readSegment(filepath.Join(o.Dir, segs[i]))
		if err != nil {
			logger.Warn("skip unreadable history segment", "component", "history", "segment", segs[i], "err", err)
			continue
		}
		all = append(es, all...)
	}
	if len(all) > recentCap {
		all = all[len(all)-recentCap:]
	}
	s.recent = all
	if err := s.enforceRetention(time.Now()); err != nil {
		logger.Warn("history retention", "component", "history", "err", err)
	}
	return s, nil
}

// segments lists segment file names, oldest first (names sort by time).
func (s *Store) segments() ([]string, error) {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("list history: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "history-") && strings.HasSuffix(e.Name(), ".jsonl") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

func readSegment(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A torn last line after a crash: skip it, keep the rest.
			continue
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Append records an entry.
func (s *Store) Append(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode history entry: %w", err)
	}
	line = append(line, '\n')
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.cur == nil || s.curSize+int64(len(line)) > s.opts.SegmentSize {
		if err := s.rotate(e.Time); err != nil {
			return err
		}
	}
	n, err := s.cur.Write(line)
	s.curSize += int64(n)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	s.recent = append(s.recent, e)
	if len(s.recent) > recentCap {
		s.recent = slices.Clone(s.recent[len(s.recent)-recentCap/2:])
	}
	return nil
}

func (s *Store) rotate(now time.Time) error {
	if s.cur != nil {
		_ = s.cur.Close()
	}
	name := fmt.Sprintf("history-%s.jsonl", now.UTC().Format("20060102T150405.000000000"))
	f, err := os.OpenFile(filepath.Join(s.opts.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open history segment: %w", err)
	}
	s.cur, s.curName, s.curSize = f, name, 0
	return s.enforceRetention(now)
}

// enforceRetention deletes whole segments that are too old, or the oldest
// ones while the total is over MaxBytes. The segment being written stays.
func (s *Store) enforceRetention(now time.Time) error {
	segs, err := s.segments()
	if err != nil {
		return err
	}
	var total int64
	sizes := make([]int64, len(segs))
	for i, name := range segs {
		if fi, err := os.Stat(filepath.Join(s.opts.Dir, name)); err == nil {
			sizes[i] = fi.Size()
			total += fi.Size()
		}
	}
	var errs []error
	for i, name := range segs {
		if name == s.curName {
			break
		}
		// A segment's newest entry is at most as old as the next
		// segment's start, which its name carries.
		tooOld := false
		if i+1 < len(segs) {
			if next, err := time.Parse("20060102T150405.000000000", strings.TrimSuffix(strings.TrimPrefix(segs[i+1], "history-"), ".jsonl")); err == nil {
				tooOld = now.Sub(next) > s.opts.MaxAge
			}
		}
		if !tooOld && total <= s.opts.MaxBytes {
			break
		}
		if err := os.Remove(filepath.Join(s.opts.Dir, name)); err != nil {
			errs = append(errs, err)
			continue
		}
		total -= sizes[i]
	}
	cutoff := now.Add(-s.opts.MaxAge)
	s.recent = slices.DeleteFunc(s.recent, func(e Entry) bool { return e.Time.Before(cutoff) })
	return errors.Join(errs...)
}

// Query returns matching entries, newest first.
func (s *Store) Query(f Filter) ([]Entry, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	// Entries past retention whose segment is still kept (it also holds
	// newer ones) are not returned either.
	if cutoff := time.Now().Add(-s.opts.MaxAge); f.Since.Before(cutoff) {
		f.Since = cutoff
	}
	s.mtx.Lock()
	recent := s.recent
	oldestRecent := time.Time{}
	if len(recent) > 0 {
		oldestRecent = recent[0].Time
	}
	var out []Entry
	for i := len(recent) - 1; i >= 0 && len(out) < f.Limit; i-- {
		if f.match(&recent[i]) {
			out = append(out, recent[i])
		}
	}
	s.mtx.Unlock()
	if len(out) >= f.Limit || (!f.Since.IsZero() && !f.Since.Before(oldestRecent)) {
		return out, nil
	}
	// Older than memory holds: scan segments on disk, newest first.
	segs, err := s.segments()
	if err != nil {
		return out, err
	}
	for i := len(segs) - 1; i >= 0 && len(out) < f.Limit; i-- {
		es, err := readSegment(filepath.Join(s.opts.Dir, segs[i]))
		if err != nil {
			continue
		}
		for j := len(es) - 1; j >= 0 && len(out) < f.Limit; j-- {
			if !oldestRecent.IsZero() && !es[j].Time.Before(oldestRecent) {
				continue // already returned from memory
			}
			if f.match(&es[j]) {
				out = append(out, es[j])
			}
		}
	}
	return out, nil
}

// Close closes the current segment.
func (s *Store) Close() error {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	return err
}

var _ io.Closer = (*Store)(nil)
