package alertmanager

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// Bounds of the alert store. Alertmanager bounds alerts only per alert name;
// without an overall bound six 15 MiB POSTs made 5,700 alerts and an 88 MB
// snapshot rewritten every 5 s (issue 14). The bounds are far above what the
// shipped rules produce (a few hundred alerts of a few hundred bytes).
const (
	MaxAlerts     = 20000
	MaxAlertBytes = 32 << 20
)

// ErrAlertStoreFull is returned (wrapped) for alerts over the bounds.
var ErrAlertStoreFull = errors.New("alert store full")

// alertBounds is the alert store's callback: it counts alerts and their
// label and annotation bytes and refuses new alerts over the bounds.
// Updates of stored alerts always pass (a firing alert must stay current),
// and so do the appliance's own alerts (storage full, damaged state file).
type alertBounds struct {
	inner mem.AlertStoreCallback

	mtx        sync.Mutex
	sizes      map[model.Fingerprint]int
	bytes      int
	maxAlerts  int
	maxBytes   int
	refused    *prometheus.CounterVec
	countGauge prometheus.GaugeFunc
	bytesGauge prometheus.GaugeFunc
}

func newAlertBounds(inner mem.AlertStoreCallback, reg prometheus.Registerer) *alertBounds {
	b := &alertBounds{inner: inner, sizes: map[model.Fingerprint]int{}, maxAlerts: MaxAlerts, maxBytes: MaxAlertBytes}
	b.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_appliance_alerts_refused_total",
		Help: "Alerts refused because the alert store was at its bound, by bound (count, bytes).",
	}, []string{"bound"})
	b.countGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smm_appliance_alert_store_alerts",
		Help: "Alerts in the alert store (bound: " + fmt.Sprint(MaxAlerts) + ").",
	}, func() float64 { n, _ := b.usage(); return float64(n) })
	b.bytesGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smm_appliance_alert_store_bytes",
		Help: "Label and annotation bytes of the alerts in the alert store (bound: " + fmt.Sprint(MaxAlertBytes) + ").",
	}, func() float64 { _, n := b.usage(); return float64(n) })
	reg.MustRegister(b.refused, b.countGauge, b.bytesGauge)
	return b
}

func alertSize(a *alert.Alert) int {
	n := 0
	for k, v := range a.Labels {
		n += len(k) + len(v)
	}
	for k, v := range a.Annotations {
		n += len(k) + len(v)
	}
	return n + len(a.GeneratorURL)
}

func internal(a *alert.Alert) bool {
	n := a.Name()
	return n == StorageFullAlert || n == StateFileDamagedAlert
}

func (b *alertBounds) usage() (int, int) {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	return len(b.sizes), b.bytes
}

// full reports whether a request of about n bytes of new alerts would be
// refused, for the API to refuse it whole and up front.
func (b *alertBounds) full(n int) error {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	if len(b.sizes) >= b.maxAlerts {
		return fmt.Errorf("%w: %d alerts, the bound is %d", ErrAlertStoreFull, len(b.sizes), b.maxAlerts)
	}
	if b.bytes+n > b.maxBytes {
		return fmt.Errorf("%w: %d bytes stored + %d posted, the bound is %d", ErrAlertStoreFull, b.bytes, n, b.maxBytes)
	}
	return nil
}

func (b *alertBounds) PreStore(a *alert.Alert, existing bool) error {
	fp, size := a.Fingerprint(), alertSize(a)
	b.mtx.Lock()
	old, known := b.sizes[fp]
	switch {
	case known || existing || internal(a):
	case len(b.sizes) >= b.maxAlerts:
		b.mtx.Unlock()
		b.refused.WithLabelValues("count").Inc()
		return fmt.Errorf("%w: %d alerts", ErrAlertStoreFull, b.maxAlerts)
	case b.bytes+size > b.maxBytes:
		b.mtx.Unlock()
		b.refused.WithLabelValues("bytes").Inc()
		return fmt.Errorf("%w: %d bytes", ErrAlertStoreFull, b.maxBytes)
	}
	b.sizes[fp] = size
	b.bytes += size - old
	b.mtx.Unlock()
	return b.inner.PreStore(a, existing)
}

func (b *alertBounds) PostStore(a *alert.Alert, existing bool) { b.inner.PostStore(a, existing) }

func (b *alertBounds) PostDelete(a *alert.Alert) {
	b.mtx.Lock()
	if n, ok := b.sizes[a.Fingerprint()]; ok {
		b.bytes -= n
		delete(b.sizes, a.Fingerprint())
	}
	b.mtx.Unlock()
	b.inner.PostDelete(a)
}

func (b *alertBounds) PostGC(ff model.Fingerprints) { b.inner.PostGC(ff) }

// refuseOverBounds answers 507 to an alert POST while the store is at its
// bounds, before the API parses it: the API would otherwise answer 200 for
// alerts the store then drops.
func (am *Alertmanager) refuseOverBounds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/alerts") {
			n := max(int(r.ContentLength), 0)
			if err := am.bounds.full(n); err != nil {
				am.bounds.refused.WithLabelValues("request").Inc()
				http.Error(w, "alerts refused: "+err.Error(), http.StatusInsufficientStorage)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
