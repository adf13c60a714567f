package alertmanager

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/common/model"
)

// alertSnapshot persists the alert store. Alertmanager keeps alerts only in
// memory, so an alert that resolves while the process is down never gets
// its resolved notification (alertmanager issue #2370): after the restart
// nobody remembers it was firing. Restoring the store puts those alerts back
// with their last end time; if the rule no longer fires they time out and
// resolve, and the pipeline sends the resolved notification the receiver
// was owed.
type alertSnapshot struct {
	am *Alertmanager
}

type storedAlert struct {
	model.Alert
	UpdatedAt time.Time `json:"updatedAt"`
}

// Snapshot writes every alert that is not resolved yet.
func (s alertSnapshot) Snapshot(w io.Writer) (int64, error) {
	now := time.Now()
	it := s.am.alerts.GetPending()
	defer it.Close()
	var list []storedAlert
	for a := range it.Next() {
		if a.Data.ResolvedAt(now) {
			continue
		}
		list = append(list, storedAlert{Alert: a.Data.Alert, UpdatedAt: a.Data.UpdatedAt})
	}
	b, err := json.Marshal(list)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// restoreAlerts loads a snapshot into the store.
func (am *Alertmanager) restoreAlerts(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read alert snapshot: %w", err)
	}
	var list []storedAlert
	if err := json.Unmarshal(b, &list); err != nil {
		return 0, fmt.Errorf("decode alert snapshot %s: %w", path, err)
	}
	alerts := make([]*alert.Alert, 0, len(list))
	for _, sa := range list {
		if sa.Validate() != nil {
			continue
		}
		alerts = append(alerts, alert.New(sa.Alert, sa.UpdatedAt, false))
	}
	return len(alerts), am.alerts.Put(context.Background(), alerts...)
}

// changeTracking is the alert store as writers see it: every Put (rule
// evaluations, POSTed alerts) sets a flag the snapshot clock reads.
type changeTracking struct {
	*mem.Alerts
	changed *atomic.Bool
}

func (c changeTracking) Put(ctx context.Context, alerts ...*alert.Alert) error {
	c.changed.Store(true)
	return c.Alerts.Put(ctx, alerts...)
}

// alertSnapshotMaxAge is how old the snapshot may get while only the end
// times of its alerts change. Rules re-put every firing alert on every
// evaluation with an end 4 resend delays ahead (4 min by default), so a
// snapshot a minute old still restores them firing; rewriting the whole
// store every 5 s for new end times alone was most of its cost.
const alertSnapshotMaxAge = time.Minute

// snapshotAlerts marks the alert snapshot for writing at most once per
// interval, and only if alerts were put since the last one: at once when an
// alert came, went or changed (labels, annotations, startsAt), and after
// alertSnapshotMaxAge when only end times moved. Rules re-put every firing
// alert on every evaluation, so per-change writes would rewrite the whole
// store continuously; a clock alone would rewrite it when nothing happened.
func (am *Alertmanager) snapshotAlerts(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var (
		lastDigest uint64
		lastMark   time.Time
	)
	for {
		select {
		case <-am.stopMaint:
			return
		case now := <-t.C:
			if !am.alertsChanged.Swap(false) {
				continue
			}
			d := am.alertsDigest(now)
			if d == lastDigest && now.Sub(lastMark) < alertSnapshotMaxAge {
				am.alertsChanged.Store(true) // still to be written, later
				continue
			}
			lastDigest, lastMark = d, now
			am.alertPersist.Mark()
		}
	}
}

// alertsDigest identifies the snapshot's content but for end and update
// times: an order-independent sum of a hash per unresolved alert.
func (am *Alertmanager) alertsDigest(now time.Time) uint64 {
	it := am.alerts.GetPending()
	defer it.Close()
	var sum uint64
	for a := range it.Next() {
		if a.Data.ResolvedAt(now) {
			continue
		}
		h := fnv.New64a()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(a.Data.Fingerprint()))
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(a.Data.StartsAt.UnixNano()))
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(a.Data.Annotations.Fingerprint()))
		h.Write(b[:])
		h.Write([]byte(a.Data.GeneratorURL))
		sum += h.Sum64()
	}
	return sum
}
