// Package acks keeps, per alert, who acknowledged it and what escalation has
// happened: the state behind "acknowledging stops escalation". An ack does
// not mute notifications — that is what silences are for.
//
// The state is written to disk like the appliance's silences: every change
// marks the file, a background writer coalesces bursts (an alert storm
// notifies thousands of alerts at once), and acks and escalations wait for
// their write before returning, so a restart neither forgets an ack nor
// escalates twice. A change that cannot be written is rolled back and
// returned as an error wrapping persist.ErrNotDurable: nothing is answered
// as done that a crash would lose.
//
// An ack is the operator's word and has its own lifetime (STYLE.md 20): it
// lives until the operator un-acks, or until its alert has been absent or
// resolved for Retention — not as long as the alert store happens to
// remember the alert (the store is snapshotted every few seconds, and a
// crash or a damaged snapshot empties it).
package acks

import (
	"bytes"
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
	// Reason is what the alert was: one of the Reason* values, or empty
	// (acks made before reasons existed).
	Reason string `json:"reason,omitempty"`
	// Via is the channel the ack came from (console, link, pagerduty,
	// slack); empty means the console.
	Via string `json:"via,omitempty"`
	// Until ends a snooze: the ack lapses then and the alert is treated as
	// not acknowledged again. Zero: the ack holds until the alert resolves.
	Until time.Time `json:"until,omitzero"`
}

// The reasons an acknowledgement can give.
const (
	ReasonWorkingOn     = "working_on_it"
	ReasonFalsePositive = "false_positive"
	ReasonNotActionable = "not_actionable"
	ReasonDuplicate     = "duplicate"
)

// Reasons lists the reasons an ack may give, in the order the console
// offers them.
var Reasons = []string{ReasonWorkingOn, ReasonFalsePositive, ReasonNotActionable, ReasonDuplicate}

// The channels an ack comes from (Ack.Via).
const (
	ViaConsole   = "console"
	ViaLink      = "link"
	ViaPagerDuty = "pagerduty"
	ViaSlack     = "slack"
)

// CheckReason returns an error for a reason that is not one of Reasons;
// empty is allowed (it means ReasonWorkingOn to the callers that default it).
func CheckReason(r string) error {
	if r == "" || slices.Contains(Reasons, r) {
		return nil
	}
	return fmt.Errorf("unknown reason %q (want one of %s)", r, strings.Join(Reasons, ", "))
}

// AckedAt says whether the state holds an acknowledgement in force at t: one
// that exists and, if it is a snooze, has not lapsed.
func (st *State) AckedAt(t time.Time) bool {
	return st.Ack != nil && (st.Ack.Until.IsZero() || t.Before(st.Ack.Until))
}

// Escalation is one escalation step that was carried out.
type Escalation struct {
	Step     int       `json:"step"`
	At       time.Time `json:"at"`
	Receiver string    `json:"receiver"`
}

// State is what the appliance knows about one alert beyond Alertmanager.
type State struct {
	Fingerprint string `json:"fingerprint"`
	Alertname   string `json:"alertname,omitempty"`
	Severity    string `json:"severity,omitempty"`
	// Team is the alert's team label: MTTA and ack counts are per team.
	Team            string    `json:"team,omitempty"`
	FirstNotifiedAt time.Time `json:"firstNotifiedAt,omitzero"`
	Ack             *Ack      `json:"ack,omitempty"`
	// AckChangedAt orders ack and un-ack across cluster peers: the later
	// change wins.
	AckChangedAt time.Time    `json:"ackChangedAt,omitzero"`
	Escalations  []Escalation `json:"escalations,omitempty"`
	// GoneSince is when the alert was first seen absent or resolved since
	// it last fired; the state is forgotten Retention later. Local to each
	// node (not gossiped): every node sees its own alert store.
	GoneSince time.Time `json:"goneSince,omitzero"`
}

// DefaultRetention is how long the state of an alert that is gone (resolved,
// or absent from the alert store) is kept: an alert that comes back with the
// same fingerprint within it is still acked and keeps its escalation steps.
const DefaultRetention = 24 * time.Hour

// Target is one alert to acknowledge.
type Target struct {
	Fingerprint, Alertname, Severity, Team string
}

// ErrUnknownAlert is returned when acking an alert the appliance has no
// record of.
var ErrUnknownAlert = errors.New("unknown alert")

// Store holds the states, keyed by alert fingerprint.
type Store struct {
	file    *persist.File
	damaged []persist.Damaged
	now     func() time.Time

	mtx       sync.Mutex
	states    map[string]*State
	retention time.Duration
	broadcast func([]byte)
	onMerge   func([]State) // set before the cluster starts; read without mtx
}

// Open loads the state file, if any, and starts its writer; Close stops it.
// A file that cannot be decoded does not stop the start: it is moved aside
// (persist.Quarantine), the store starts empty, and Damaged reports it.
func Open(path string, logger *slog.Logger) (*Store, error) {
	s := &Store{states: map[string]*State{}, broadcast: func([]byte) {}, retention: DefaultRetention, now: time.Now}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read acks %s: %w", path, err)
	default:
		list, err := decode(b)
		if err != nil {
			d, qerr := persist.Quarantine(path, fmt.Errorf("decode acks %s: %w", path, err), "every acknowledgement, first-notification time and escalation step")
			if qerr != nil {
				return nil, errors.Join(err, qerr)
			}
			logger.Error("acks file damaged; moved aside, starting without acks", "component", "acks", "file", path, "moved_to", d.MovedTo, "err", err)
			s.damaged = append(s.damaged, d)
			break
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

// Damaged lists the state file Open found damaged and moved aside, if any.
func (s *Store) Damaged() []persist.Damaged { return slices.Clone(s.damaged) }

// SetRetention sets how long the state of a gone alert is kept (default
// DefaultRetention).
func (s *Store) SetRetention(d time.Duration) {
	s.mtx.Lock()
	s.retention = d
	s.mtx.Unlock()
}

// fileV2 is the file format: each distinct ack (one per request: who, when,
// comment) is stored once and states refer to it, so acking N alerts with a
// long comment does not store the comment N times.
type fileV2 struct {
	Version int         `json:"version"`
	Acks    []Ack       `json:"acks"`
	States  []diskState `json:"states"`
}

type diskState struct {
	State
	Ack    *Ack `json:"ack,omitempty"` // shadows State.Ack: always nil on disk
	AckRef *int `json:"ackRef,omitempty"`
}

// decode reads the file: version 2, or the plain list of states older
// versions wrote.
func decode(b []byte) ([]*State, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []*State
		err := json.Unmarshal(b, &list)
		return list, err
	}
	var f fileV2
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Version != 2 {
		return nil, fmt.Errorf("unknown acks file version %d", f.Version)
	}
	list := make([]*State, 0, len(f.States))
	for _, ds := range f.States {
		st := ds.State
		if ds.AckRef != nil {
			if *ds.AckRef < 0 || *ds.AckRef >= len(f.Acks) {
				return nil, fmt.Errorf("state %s refers to ack %d of %d", st.Fingerprint, *ds.AckRef, len(f.Acks))
			}
			a := f.Acks[*ds.AckRef]
			st.Ack = &a
		}
		list = append(list, &st)
	}
	return list, nil
}

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
	f := fileV2{Version: 2, Acks: []Ack{}, States: make([]diskState, len(list))}
	refs := map[Ack]int{}
	for i, st := range list {
		f.States[i].State = st
		if st.Ack == nil {
			continue
		}
		ref, ok := refs[*st.Ack]
		if !ok {
			ref = len(f.Acks)
			refs[*st.Ack] = ref
			f.Acks = append(f.Acks, *st.Ack)
		}
		f.States[i].AckRef = &ref
	}
	cw := &countingWriter{w: w}
	err := json.NewEncoder(cw).Encode(f)
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
	Fingerprint, Alertname, Severity, Team string
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
		st.Alertname, st.Severity, st.Team, st.FirstNotifiedAt = n.Alertname, n.Severity, n.Team, t.UTC()
		first = append(first, n.Fingerprint)
		changed = append(changed, st)
	}
	if len(changed) > 0 {
		s.file.Mark()
		s.changedLocked(changed...)
	}
	return first
}

// Acknowledge acks an alert. Alerts not yet notified may be acked too (an
// operator saw it in the console first). It returns once the ack is on disk.
func (s *Store) Acknowledge(fp, alertname, severity string, a Ack) (State, error) {
	out, err := s.AcknowledgeAll([]Target{{Fingerprint: fp, Alertname: alertname, Severity: severity}}, a)
	if err != nil {
		return State{}, err
	}
	return out[0], nil
}

// AcknowledgeAll acks alerts with one ack, in one durable write (STYLE.md
// 19): a request for N alerts rewrites the file once, not N times, and a
// fingerprint given twice counts once. It returns the states in the order
// of first appearance once the file is on disk; if it cannot be written the
// acks are rolled back and the error wraps persist.ErrNotDurable.
func (s *Store) AcknowledgeAll(targets []Target, a Ack) ([]State, error) {
	if err := s.file.CheckRoom(); err != nil {
		return nil, err
	}
	a.At = a.At.UTC()
	s.mtx.Lock()
	undo := s.undoLocked()
	var changed []*State
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.Fingerprint] {
			continue
		}
		seen[t.Fingerprint] = true
		st, ok := s.states[t.Fingerprint]
		undo.save(t.Fingerprint, st, ok)
		if !ok {
			st = &State{Fingerprint: t.Fingerprint, Alertname: t.Alertname, Severity: t.Severity}
			s.states[t.Fingerprint] = st
		}
		if st.Team == "" {
			st.Team = t.Team
		}
		ack := a // one copy per state: clone and Merge treat them apart
		st.Ack = &ack
		st.AckChangedAt = a.At
		changed = append(changed, st)
	}
	out := make([]State, len(changed))
	for i, st := range changed {
		out[i] = clone(st)
	}
	s.mtx.Unlock()
	if err := s.commit(undo, changed); err != nil {
		return nil, err
	}
	return out, nil
}

// Unacknowledge removes an ack; it returns once that is on disk, or rolls
// it back and returns an error wrapping persist.ErrNotDurable.
func (s *Store) Unacknowledge(fp string) (State, error) {
	if err := s.file.CheckRoom(); err != nil {
		return State{}, err
	}
	s.mtx.Lock()
	st, ok := s.states[fp]
	if !ok || st.Ack == nil {
		s.mtx.Unlock()
		return State{}, ErrUnknownAlert
	}
	undo := s.undoLocked()
	undo.save(fp, st, true)
	st.Ack = nil
	st.AckChangedAt = s.now().UTC()
	c := clone(st)
	s.mtx.Unlock()
	if err := s.commit(undo, []*State{st}); err != nil {
		return State{}, err
	}
	return c, nil
}

// Lapse ends the snoozes whose Until is at or before now: the ack is
// removed as an un-ack made at its Until (AckChangedAt = Until), written and
// gossiped like one. Every node that lapses the same snooze makes the same
// change, so the merge is idempotent; a peer that re-acked after Until
// (a later AckChangedAt) wins. It returns the states as they were before
// the lapse (with their ack), for the caller to notify the team again.
func (s *Store) Lapse(now time.Time) ([]State, error) {
	s.mtx.Lock()
	var due []string
	for fp, st := range s.states {
		if st.Ack != nil && !st.Ack.Until.IsZero() && !now.Before(st.Ack.Until) {
			due = append(due, fp)
		}
	}
	if len(due) == 0 {
		s.mtx.Unlock()
		return nil, nil
	}
	s.mtx.Unlock()
	if err := s.file.CheckRoom(); err != nil {
		return nil, err
	}
	s.mtx.Lock()
	undo := s.undoLocked()
	var lapsed []State
	var changed []*State
	for _, fp := range due {
		st, ok := s.states[fp]
		if !ok || st.Ack == nil || st.Ack.Until.IsZero() || now.Before(st.Ack.Until) {
			continue // changed in between
		}
		undo.save(fp, st, true)
		lapsed = append(lapsed, clone(st))
		st.AckChangedAt = st.Ack.Until
		st.Ack = nil
		changed = append(changed, st)
	}
	s.mtx.Unlock()
	slices.SortFunc(lapsed, func(a, b State) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	if err := s.commit(undo, changed); err != nil {
		return nil, err
	}
	return lapsed, nil
}

// Escalated records a carried-out escalation step; it returns once the
// step is on disk, so a restart does not escalate twice. If the step cannot
// be written it is rolled back and the error wraps persist.ErrNotDurable:
// the engine then sends the step again at its next check (at least once,
// never recorded as done when a crash would forget it).
func (s *Store) Escalated(fp string, e Escalation) error {
	if err := s.file.CheckRoom(); err != nil {
		return err
	}
	s.mtx.Lock()
	st, ok := s.states[fp]
	undo := s.undoLocked()
	undo.save(fp, st, ok)
	if !ok {
		st = &State{Fingerprint: fp}
		s.states[fp] = st
	}
	e.At = e.At.UTC()
	st.Escalations = append(st.Escalations, e)
	s.mtx.Unlock()
	return s.commit(undo, []*State{st})
}

// CheckRoom reports whether a change could be recorded now (nil), or an
// error wrapping persist.ErrNotDurable: the escalation engine may ask before
// it sends a step, so that a full disk does not make it re-send the step at
// every check.
func (s *Store) CheckRoom() error { return s.file.CheckRoom() }

// undo holds the states a change replaced, to put back if the change
// cannot be made durable.
type undo struct {
	prev map[string]*State // nil value: the state did not exist
}

func (s *Store) undoLocked() *undo { return &undo{prev: map[string]*State{}} }

func (u *undo) save(fp string, st *State, ok bool) {
	if _, done := u.prev[fp]; done {
		return
	}
	if !ok {
		u.prev[fp] = nil
		return
	}
	c := clone(st)
	u.prev[fp] = &c
}

// commit writes the change and gossips it; if the write fails it restores
// the previous states (a later change to the same alert, made meanwhile, is
// rolled back with it and fails on its own flush too) and marks the file
// again, so the disk catches up with what is in force once it has room.
func (s *Store) commit(u *undo, changed []*State) error {
	s.mtx.Lock()
	s.file.Mark()
	s.mtx.Unlock()
	if err := s.file.Flush(); err != nil {
		s.mtx.Lock()
		for fp, prev := range u.prev {
			if prev == nil {
				delete(s.states, fp)
			} else {
				s.states[fp] = prev
			}
		}
		s.file.Mark()
		s.mtx.Unlock()
		return err
	}
	s.mtx.Lock()
	s.changedLocked(changed...)
	s.mtx.Unlock()
	return nil
}

// Forget is called with the alerts that are active now. The state of an
// alert that is not starts a Retention clock (GoneSince) and is dropped
// when it runs out; an alert active again clears it. So an ack outlives a
// crash, a restart that lost the alert store, or a flapping alert; only an
// alert resolved for Retention starts fresh (new first notification, no
// ack, no escalation).
func (s *Store) Forget(active func(fp string) bool) {
	now := s.now().UTC()
	s.mtx.Lock()
	defer s.mtx.Unlock()
	changed := false
	for fp, st := range s.states {
		switch {
		case active(fp):
			if !st.GoneSince.IsZero() {
				st.GoneSince = time.Time{}
				changed = true
			}
		case st.GoneSince.IsZero():
			st.GoneSince = now
			changed = true
		case now.Sub(st.GoneSince) >= s.retention:
			delete(s.states, fp)
			changed = true
		}
	}
	if changed {
		s.file.Mark()
	}
}

// changedLocked gossips a local change to cluster peers.
func (s *Store) changedLocked(sts ...*State) {
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
	if l.Team == "" && r.Team != "" {
		l.Team = r.Team
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
