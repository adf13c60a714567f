// Package acks keeps, per alert, who acknowledged it and what escalation has
// happened: the state behind "acknowledging stops escalation". An ack does
// not mute notifications — that is what silences are for.
//
// The state is written to disk on every change (temp file, fsync, rename),
// like the appliance's silences, so a restart neither forgets an ack nor
// escalates twice.
package acks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
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
	path string

	mtx       sync.Mutex
	states    map[string]*State
	broadcast func([]byte)
}

// Open loads the state file, if any.
func Open(path string) (*Store, error) {
	s := &Store{path: path, states: map[string]*State{}, broadcast: func([]byte) {}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read acks %s: %w", path, err)
	}
	var list []*State
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("decode acks %s: %w", path, err)
	}
	for _, st := range list {
		s.states[st.Fingerprint] = st
	}
	return s, nil
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
	slices.SortFunc(out, func(a, b State) int { return compare(a.Fingerprint, b.Fingerprint) })
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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

// Notified records that a notification for the alert went out at t; only
// the first one counts. It reports whether this was the first.
func (s *Store) Notified(fp, alertname, severity string, t time.Time) (bool, error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st, ok := s.states[fp]
	if ok && !st.FirstNotifiedAt.IsZero() {
		return false, nil
	}
	if !ok {
		st = &State{Fingerprint: fp}
		s.states[fp] = st
	}
	st.Alertname, st.Severity, st.FirstNotifiedAt = alertname, severity, t.UTC()
	return true, s.changedLocked(st)
}

// Acknowledge acks an alert. Alerts not yet notified may be acked too (an
// operator saw it in the console first).
func (s *Store) Acknowledge(fp, alertname, severity string, a Ack) (State, error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st, ok := s.states[fp]
	if !ok {
		st = &State{Fingerprint: fp, Alertname: alertname, Severity: severity}
		s.states[fp] = st
	}
	a.At = a.At.UTC()
	st.Ack = &a
	st.AckChangedAt = a.At
	return clone(st), s.changedLocked(st)
}

// Unacknowledge removes an ack.
func (s *Store) Unacknowledge(fp string) (State, error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st, ok := s.states[fp]
	if !ok || st.Ack == nil {
		return State{}, ErrUnknownAlert
	}
	st.Ack = nil
	st.AckChangedAt = time.Now().UTC()
	return clone(st), s.changedLocked(st)
}

// Escalated records a carried-out escalation step.
func (s *Store) Escalated(fp string, e Escalation) error {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	st, ok := s.states[fp]
	if !ok {
		st = &State{Fingerprint: fp}
		s.states[fp] = st
	}
	e.At = e.At.UTC()
	st.Escalations = append(st.Escalations, e)
	return s.changedLocked(st)
}

// Forget drops alerts that are no longer active: a resolved alert that
// fires again starts fresh (new first notification, no ack, no escalation).
func (s *Store) Forget(active func(fp string) bool) error {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	changed := false
	for fp := range s.states {
		if !active(fp) {
			delete(s.states, fp)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.saveLocked()
}

func (s *Store) saveLocked() error {
	list := make([]*State, 0, len(s.states))
	for _, st := range s.states {
		list = append(list, st)
	}
	slices.SortFunc(list, func(a, b *State) int { return compare(a.Fingerprint, b.Fingerprint) })
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(s.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write acks: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write acks %s: %w", s.path, err)
	}
	return nil
}

// changedLocked persists a local change and gossips it to cluster peers.
func (s *Store) changedLocked(st *State) error {
	err := s.saveLocked()
	if b, merr := json.Marshal([]*State{st}); merr == nil {
		s.broadcast(b)
	}
	return err
}

// SetBroadcast sets the function that gossips local changes (cluster mode).
func (s *Store) SetBroadcast(f func([]byte)) {
	s.mtx.Lock()
	s.broadcast = f
	s.mtx.Unlock()
}

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
			continue
		}
		if mergeState(l, r) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.saveLocked()
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
