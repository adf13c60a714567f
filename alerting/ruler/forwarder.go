package ruler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/provider"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/rules"
)

// Forwarder hands alerts from the rule manager to the embedded Alertmanager's
// alert store in memory, applying external labels and alert_relabel_configs on
// the way exactly as Prometheus' notifier does before it POSTs to an
// Alertmanager. It optionally also sends to external Alertmanagers.
type Forwarder struct {
	logger *slog.Logger

	mtx            sync.RWMutex
	alerts         provider.Alerts
	externalLabels labels.Labels
	relabel        []*relabel.Config
	external       *notifier.Manager // nil unless alerting.alertmanagers is set

	hold holdState
}

var _ rules.Sender = (*Forwarder)(nil)

// NewForwarder forwards to alerts.
func NewForwarder(alerts provider.Alerts, logger *slog.Logger) *Forwarder {
	return &Forwarder{alerts: alerts, logger: logger}
}

// SetExternal sets the notifier used for external Alertmanagers, or nil.
func (f *Forwarder) SetExternal(n *notifier.Manager) {
	f.mtx.Lock()
	f.external = n
	f.mtx.Unlock()
}

// ApplyConfig takes the external labels and alert relabelling rules.
func (f *Forwarder) ApplyConfig(cfg *promconfig.Config) error {
	f.mtx.Lock()
	defer f.mtx.Unlock()
	f.externalLabels = cfg.GlobalConfig.ExternalLabels
	f.relabel = cfg.AlertingConfig.AlertRelabelConfigs
	for _, rc := range f.relabel {
		if rc.NameValidationScheme == model.UnsetValidation {
			rc.NameValidationScheme = cfg.GlobalConfig.MetricNameValidationScheme
		}
	}
	return nil
}

// Send implements rules.Sender.
func (f *Forwarder) Send(in ...*notifier.Alert) {
	f.mtx.RLock()
	ext, rcs, external := f.externalLabels, f.relabel, f.external
	f.mtx.RUnlock()

	now := time.Now()
	out := make([]*alert.Alert, 0, len(in))
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, a := range in {
		lb.Reset(a.Labels)
		// An alert's own label wins over an external label of the same name.
		ext.Range(func(l labels.Label) {
			if a.Labels.Get(l.Name) == "" {
				lb.Set(l.Name, l.Value)
			}
		})
		if !relabel.ProcessBuilder(lb, rcs...) {
			continue
		}
		ls := lb.Labels()
		m := model.Alert{
			Labels:       make(model.LabelSet, ls.Len()),
			Annotations:  make(model.LabelSet, a.Annotations.Len()),
			StartsAt:     a.StartsAt,
			EndsAt:       a.EndsAt,
			GeneratorURL: a.GeneratorURL,
		}
		ls.Range(func(l labels.Label) { m.Labels[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		a.Annotations.Range(func(l labels.Label) { m.Annotations[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		if err := m.Validate(); err != nil {
			f.logger.Warn("dropping invalid alert", "component", "forwarder", "alert", m.Name(), "err", err)
			continue
		}
		out = append(out, alert.New(m, now, false))
	}
	out = f.hold.filter(out, now)
	if len(out) > 0 {
		if err := f.alerts.Put(context.Background(), out...); err != nil {
			f.logger.Error("store alerts", "component", "forwarder", "err", err)
		}
	}
	if external != nil {
		// The notifier applies external labels and relabelling itself.
		external.Send(in...)
	}
}
