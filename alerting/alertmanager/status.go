package alertmanager

import (
	"context"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/marker"
	"github.com/prometheus/common/model"
)

// Status is what the v2 API reports for an alert, read in process: whether
// silences or the inhibitor mute it now, and the receivers its labels route
// to. Like the v2 API, it runs the silencer and inhibitor on the alert's
// labels at query time rather than reading the dispatcher's markers, so it
// is current whether or not the pipeline has run since a silence changed.
func (am *Alertmanager) Status(ctx context.Context, a *alert.Alert) (alert.AlertStatus, []string) {
	var c collector
	cctx := marker.WithContext(ctx, &c)
	am.silencer.Mutes(cctx, a.LabelSet())
	if i := am.inhibitor.Load(); i != nil {
		i.Mutes(cctx, a.LabelSet())
	}
	st := alert.AlertStatus{State: alert.AlertStateActive, SilencedBy: c.silencedBy, InhibitedBy: c.inhibitedBy}
	if st.SilencedBy == nil {
		st.SilencedBy = []string{}
	}
	if st.InhibitedBy == nil {
		st.InhibitedBy = []string{}
	}
	if len(st.SilencedBy) > 0 || len(st.InhibitedBy) > 0 {
		st.State = alert.AlertStateSuppressed
	}
	var receivers []string
	if cfg := am.config.Load(); cfg != nil {
		seen := map[string]bool{}
		for _, r := range dispatch.NewRoute(cfg.Route, nil).Match(a.Labels) {
			if name := r.RouteOpts.Receiver; !seen[name] {
				seen[name] = true
				receivers = append(receivers, name)
			}
		}
	}
	return st, receivers
}

// collector is a marker.AlertMarker for one alert and one question: the
// silencer and inhibitor report what mutes an alert only through the marker
// in the context (the v2 API's statusCollector does the same).
type collector struct {
	silencedBy, inhibitedBy []string
}

var _ marker.AlertMarker = (*collector)(nil)

func (c *collector) SetSilenced(_ model.Fingerprint, ids []string)  { c.silencedBy = ids }
func (c *collector) SetInhibited(_ model.Fingerprint, ids []string) { c.inhibitedBy = ids }
func (c *collector) Status(model.Fingerprint) alert.AlertStatus {
	return alert.AlertStatus{SilencedBy: c.silencedBy, InhibitedBy: c.inhibitedBy}
}
func (c *collector) Delete(...model.Fingerprint) { *c = collector{} }
