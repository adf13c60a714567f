// Package acks keeps, per alert, who acknowledged it and what escalation has
// happened: the state behind "acknowledging stops escalation". An ack does
// not mute notifications — that is what silences are for.
//
// The state is written to disk like the appliance's silences: every change
// marks the file, a background writer coalesces bursts (an alert storm
// notifies thousands of alerts at once), and acks and escalations wait for
// their write before returning, so a restart neither forgets an ack nor
// escalates twice.
package acks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smm-architect/smm-appliance/storage/persist"
)

// Ack is one acknowledgement.
type Ack struct {
	By      string    `json:"by"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Escalation is one escalation step that was carried out.
type Escalation struct {
	Step     int       `json:"step"`
	At       time.Time `json:"at"`
	Receiver string    `json:"receiver"`
}

// State is what the appliance knows about one alert beyond Alertmanager.
type State struct {
	Fingerprint     string    `json:"fingerprint"`
	Alertname       string    `json:"alertname,omitempty"`
	Severity        string    `json:"severity,omitempty"`
	FirstNotifiedAt time.Time `json:"firstNotifiedAt,omitzero"`
	Ack             *Ack      `json:"ack,omitempty"`
	// AckChangedAt orders ack and un-ack across cluster peers: the later
	// change wins.
	AckChangedAt time.Time    `json:"ackChangedAt,omitzero"`
	Escalations  []Escalation `json:"escalations,omitempty"`
}

// ErrUnknownAlert is returned when acking an alert the appliance has no
// record of.
var ErrUnknownAlert = errors.New("unknown alert")

// Store holds the states, keyed by alert fingerprint.
type Store struct {
	file *persist.File

	mtx       sync.Mutex
	states    map[string]*State
	broadcast func([]byte)
	onMerge   func([]State) // set before the cluster starts; read without mtx
}

// Open loads the state file, if any, and starts its writer; Close stops it.
func Open(path string, logger *slog.Logger) (*Store, error) {
	s := &Store{states: map[string]*State{}, broadcast: func([]byte) {}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read acks %s: %w", path, err)
	default:
		var list []*State
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("decode acks %s: %w", path, err)
		}
		for _, st := range list {
			if st != nil && st.Fingerprint != "" {
				s.states[st.Fingerprint] = st
			}
		}
	}
	// First notifications are only marked (they come in storms) and
	// written at most once a second; acks and escalations flush.
	s.file = persist.New("acks", path, persist.SnapshotFunc(s.snapshot), time.Second, logger)
	go s.file.Run()
	return s, nil
}

// Close writes the final state.
func (s *Store) Close() error { return s.file.Close() }

// snapshot copies the states under the lock and encodes them outside it, so
// a large write does not hold up notifications.
func (s *Store) snapshot(w io.Writer) (int64, error) {
	s.mtx.Lock()
	list := make([]State, 0, len(s.states))
	for _, st := range s.states {
		list = append(list, clone(st))
	}
	s.mtx.Unlock()
	slices.SortFunc(list, func(a, b State) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	cw := &countingWriter{w: w}
	err := json.NewEncoder(cw).Encode(list)
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// Get returns a copy of an alert's state.
func (s *Store) Get(fp string) (State, bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st, ok := s.states[fp]
	if !ok {
		return State{}, false
	}
	return clone(st), true
}

// List returns copies of all states.
func (s *Store) List() []State {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	out := make([]State, 0, len(s.states))
	for _, st := range s.states {
		out = append(out, clone(st))
	}
	slices.SortFunc(out, func(a, b State) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}

func clone(st *State) State {
	c := *st
	if st.Ack != nil {
		a := *st.Ack
		c.Ack = &a
	}
	c.Escalations = slices.Clone(st.Escalations)
	return c
}

// Notice is one alert of a delivered notification.
type Notice struct {
	Fingerprint, Alertname, Severity string
}

// Notified records that a notification for the alerts went out at t; only
// the first one per alert counts. It returns the fingerprints for which this
// was the first. It only marks the file for writing: it runs on the
// notification path, and a notification carries up to thousands of alerts.
func (s *Store) Notified(t time.Time, alerts ...Notice) []string {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	var first []string
	var changed []*State
	for _, n := range alerts {
		st, ok := s.states[n.Fingerprint]
		if ok && !st.FirstNotifiedAt.IsZero() {
			continue
		}
		if !ok {
			st = &State{Fingerprint: n.Fingerprint}
			s.states[n.Fingerprint] = st
		}
		st.Alertname, st.Severity, st.FirstNotifiedAt = n.Alertname, n.Severity, t.UTC()
		first = append(first, n.Fingerprint)
		changed = append(changed, st)
	}
	if len(changed) > 0 {
		s.changedLocked(changed...)
	}
	return first
}

// Acknowledge acks an alert. Alerts not yet notified may be acked too (an
// operator saw it in the console first). It returns once the ack is on disk.
func (s *Store) Acknowledge(fp, alertname, severity string, a Ack) (State, error) {
	s.mtx.Lock()
	st, ok := s.states[fp]
	if !ok {
		st = &State{Fingerprint: fp, Alertname: alertname, Severity: severity}
		s.states[fp] = st
	}
	a.At = a.At.UTC()
	st.Ack = &a
	st.AckChangedAt = a.At
	s.changedLocked(st)
	c := clone(st)
	s.mtx.Unlock()
	return c, s.file.Flush()
}

// Unacknowledge removes an ack; it returns once that is on disk.
func (s *Store) Unacknowledge(fp string) (State, error) {
	s.mtx.Lock()
	st, ok := s.states[fp]
	if !ok || st.Ack == nil {
		s.mtx.Unlock()
		return State{}, ErrUnknownAlert
	}
	st.Ack = nil
	st.AckChangedAt = time.Now().UTC()
	s.changedLocked(st)
	c := clone(st)
	s.mtx.Unlock()
	return c, s.file.Flush()
}

// Escalated records a carried-out escalation step; it returns once the
// step is on disk, so a restart does not escalate twice.
func (s *Store) Escalated(fp string, e Escalation) error {
	s.mtx.Lock()
	st, ok := s.states[fp]
	if !ok {
		st = &State{Fingerprint: fp}
		s.states[fp] = st
	}
	e.At = e.At.UTC()
	st.Escalations = append(st.Escalations, e)
	s.changedLocked(st)
	s.mtx.Unlock()
	return s.file.Flush()
}

// Forget drops alerts that are no longer active: a resolved alert that
// fires again starts fresh (new first notification, no ack, no escalation).
func (s *Store) Forget(active func(fp string) bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	changed := false
	for fp := range s.states {
		if !active(fp) {
			delete(s.states, fp)
			changed = true
		}
	}
	if changed {
		s.file.Mark()
	}
}

// changedLocked marks a local change for writing and gossips it to
// cluster peers.
func (s *Store) changedLocked(sts ...*State) {
	s.file.Mark()
	if b, err := json.Marshal(sts); err == nil {
		s.broadcast(b)
	}
}

// SetBroadcast sets the function that gossips local changes (cluster mode).
func (s *Store) SetBroadcast(f func([]byte)) {
	s.mtx.Lock()
	s.broadcast = f
	s.mtx.Unlock()
}

// SetOnMerge sets a function that sees the ack and un-ack changes a merge
// from a peer applied (for the audit log). Set it before the store joins
// the cluster.
func (s *Store) SetOnMerge(f func(changed []State)) { s.onMerge = f }

// MarshalBinary returns the full state for a peer's push-pull sync; with
// Merge it makes the store a cluster.State, replicated like silences.
func (s *Store) MarshalBinary() ([]byte, error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	list := make([]*State, 0, len(s.states))
	for _, st := range s.states {
		list = append(list, st)
	}
	return json.Marshal(list)
}

// Merge folds in states from a peer: the earliest first notification, the
// latest ack change, and the union of escalation steps. It is commutative
// and idempotent, so gossip order does not matter.
func (s *Store) Merge(b []byte) error {
	var in []*State
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("decode acks from peer: %w", err)
	}
	var acked []State // ack changes the merge applied, for the hook
	defer func() {    // runs after the unlock below
		if f := s.onMerge; f != nil && len(acked) > 0 {
			f(acked)
		}
	}()
	s.mtx.Lock()
	defer s.mtx.Unlock()
	changed := false
	for _, r := range in {
		if r == nil || r.Fingerprint == "" {
			continue
		}
		l, ok := s.states[r.Fingerprint]
		if !ok {
			c := clone(r)
			s.states[r.Fingerprint] = &c
			changed = true
			if !c.AckChangedAt.IsZero() {
				acked = append(acked, clone(&c))
			}
			continue
		}
		prev := l.AckChangedAt
		if mergeState(l, r) {
			changed = true
			if !l.AckChangedAt.Equal(prev) {
				acked = append(acked, clone(l))
			}
		}
	}
	if changed {
		s.file.Mark()
	}
	return nil
}

func mergeState(l, r *State) bool {
	changed := false
	if l.Alertname == "" && r.Alertname != "" {
		l.Alertname, l.Severity = r.Alertname, r.Severity
		changed = true
	}
	if !r.FirstNotifiedAt.IsZero() && (l.FirstNotifiedAt.IsZero() || r.FirstNotifiedAt.Before(l.FirstNotifiedAt)) {
		l.FirstNotifiedAt = r.FirstNotifiedAt
		changed = true
	}
	if r.AckChangedAt.After(l.AckChangedAt) {
		l.AckChangedAt = r.AckChangedAt
		l.Ack = nil
		if r.Ack != nil {
			a := *r.Ack
			l.Ack = &a
		}
		changed = true
	}
	for _, e := range r.Escalations {
		if !slices.ContainsFunc(l.Escalations, func(x Escalation) bool { return x.Step == e.Step }) {
			l.Escalations = append(l.Escalations, e)
			changed = true
		}
	}
	return changed
}
