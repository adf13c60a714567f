package alertmanager

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/storage/persist"
)

// Alerts the appliance raises about itself. They are put into the alert store
// directly, not computed by rules from samples: the conditions they report
// (storage full, a damaged state file) are the ones in which samples cannot
// be stored or trusted. They carry the labels of the shipped appliance
// alerts, so the shipped routes page the on-call (severity critical).
const (
	// StorageFullAlert fires while the free-space guard refuses samples.
	StorageFullAlert = "SMM_ApplianceStorageFull"
	// StateFileDamagedAlert fires for a state file moved aside at start.
	StateFileDamagedAlert = "SMM_ApplianceStateFileDamaged"
)

// DamagedAlertFor is how long a damaged-state-file alert fires: long enough
// to be paged and acknowledged; the file itself stays aside for inspection.
const DamagedAlertFor = time.Hour

// internalRefresh is how often internal alerts are put again, and
// internalTimeout how far their end is set ahead each time: if the process
// stops putting them (it died), they resolve like a rule alert would.
const (
	internalRefresh = 30 * time.Second
	internalTimeout = 3 * time.Minute
)

type internalAlert struct {
	alert    model.Alert
	until    time.Time // zero: until Clear
	resolved bool
	// put is the label set last put, external labels included: when the
	// external labels change, that alert is resolved and the new one put.
	put model.LabelSet
}

type internalAlerts struct {
	mtx    sync.Mutex
	alerts map[string]*internalAlert
	// external are prometheus.yml's external labels (environment…), added
	// as the rule manager's alerts get them; the alert's own labels win.
	// Until the first configuration sets them (labelled), alerts raised
	// (a damaged file at start) are kept here, not put: put without the
	// labels, the resolved twin would ride along in the first notification.
	external model.LabelSet
	labelled bool
}

// SetExternalLabels sets the labels added to internal alerts, as the
// forwarder adds them to rule alerts; a change re-puts them.
func (am *Alertmanager) SetExternalLabels(ls model.LabelSet) {
	am.internal.mtx.Lock()
	changed := !am.internal.labelled || !maps.Equal(am.internal.external, ls)
	am.internal.external, am.internal.labelled = ls.Clone(), true
	am.internal.mtx.Unlock()
	if changed {
		am.refreshInternal(time.Now())
	}
}

// internalLabels are the shipped appliance alerts' labels.
func internalLabels(name string) model.LabelSet {
	return model.LabelSet{
		model.AlertNameLabel: model.LabelValue(name),
		"severity":           "critical",
		"team":               "platform",
		"service":            "smm-appliance",
		"category":           "appliance",
	}
}

// Raise puts (or updates) an internal alert keyed by key; labels are added
// to the standard ones. It fires until Clear, or until until if that is not
// zero. Its startsAt is kept across updates, so the identity (fingerprint,
// ack, escalation) carries on.
func (am *Alertmanager) Raise(key, name string, labels, annotations model.LabelSet, until time.Time) {
	ls := internalLabels(name)
	maps.Copy(ls, labels)
	now := time.Now()
	am.internal.mtx.Lock()
	ia, ok := am.internal.alerts[key]
	if !ok || ia.resolved {
		ia = &internalAlert{alert: model.Alert{StartsAt: now}}
		am.internal.alerts[key] = ia
	}
	ia.alert.Labels, ia.alert.Annotations, ia.until = ls, annotations.Clone(), until
	am.internal.mtx.Unlock()
	am.refreshInternal(now)
}

// Clear resolves an internal alert.
func (am *Alertmanager) Clear(key string) {
	am.internal.mtx.Lock()
	ia, ok := am.internal.alerts[key]
	if ok {
		ia.until = time.Now()
	}
	am.internal.mtx.Unlock()
	if ok {
		am.refreshInternal(time.Now())
	}
}

// RaiseDamaged raises the alert for a state file moved aside at start.
func (am *Alertmanager) RaiseDamaged(d persist.Damaged) {
	am.Raise("damaged:"+d.Path, StateFileDamagedAlert,
		model.LabelSet{"file": model.LabelValue(d.Path)},
		model.LabelSet{
			"summary":     model.LabelValue(fmt.Sprintf("State file %s was damaged and moved aside to %s; the appliance started without %s", d.Path, d.MovedTo, d.Lost)),
			"description": model.LabelValue(truncate(fmt.Sprint(d.Err), 1024)),
		},
		time.Now().Add(DamagedAlertFor))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// refreshInternal puts every internal alert again with a fresh end.
func (am *Alertmanager) refreshInternal(now time.Time) {
	am.internal.mtx.Lock()
	if !am.internal.labelled {
		am.internal.mtx.Unlock()
		return
	}
	var out []*alert.Alert
	for key, ia := range am.internal.alerts {
		if ia.resolved {
			delete(am.internal.alerts, key)
			continue
		}
		a := ia.alert
		a.Labels = am.internal.external.Clone()
		maps.Copy(a.Labels, ia.alert.Labels)
		if ia.put != nil && !maps.Equal(ia.put, a.Labels) {
			// The operator changed the external labels: another
			// identity, and the one put before is resolved.
			old := ia.alert
			old.Labels, old.EndsAt = ia.put, now
			out = append(out, alert.New(old, now, false))
		}
		ia.put = a.Labels
		a.EndsAt = now.Add(internalTimeout)
		if !ia.until.IsZero() && !ia.until.After(now) {
			a.EndsAt = now
			ia.resolved = true
		}
		out = append(out, alert.New(a, now, false))
	}
	am.internal.mtx.Unlock()
	if len(out) == 0 {
		return
	}
	if err := am.Alerts().Put(context.Background(), out...); err != nil {
		am.logger.Error("put internal alerts", "component", "alerts", "err", err)
	}
}

// runInternal keeps internal alerts firing until Close.
func (am *Alertmanager) runInternal() {
	t := time.NewTicker(internalRefresh)
	defer t.Stop()
	for {
		select {
		case <-am.stopMaint:
			return
		case now := <-t.C:
			am.refreshInternal(now)
		}
	}
}

// StorageFull raises (full) or clears StorageFullAlert; the appliance calls
// it from the free-space guard's OnChange.
func (am *Alertmanager) StorageFull(full bool, cause error) {
	if !full {
		am.Clear("storage-full")
		return
	}
	am.Raise("storage-full", StorageFullAlert, nil, model.LabelSet{
		"summary":     "The appliance's storage is full: samples are refused, firing alerts are held, the Watchdog is stopped",
		"description": model.LabelValue(truncate(fmt.Sprint(cause), 1024)),
	}, time.Time{})
}
