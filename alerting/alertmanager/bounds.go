package alertmanager

import (
	"context"
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

// Default bounds of the alert store (--alertmanager.max-alerts and
// --alertmanager.max-alert-bytes). Alertmanager bounds alerts only per alert
// name; without an overall bound six 15 MiB POSTs made 5,700 alerts and an
// 88 MB snapshot rewritten every 5 s (issue 14). The bytes bound is what
// keeps big alerts from filling memory; the count bound is for floods of
// small ones, and is far above both what the shipped rules produce (a few
// hundred alerts) and the storms the benchmark sends (100,000 alerts, which
// an Alertmanager takes): a first bound of 20,000 refused a 10k API storm
// that came while a 10k rule storm still fired (docs/benchmarks.md).
const (
	DefaultMaxAlerts     = 200000
	DefaultMaxAlertBytes = 32 << 20
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

// newAlertBounds bounds the store at maxAlerts alerts and maxBytes bytes of
// labels and annotations; 0 takes the default.
func newAlertBounds(inner mem.AlertStoreCallback, reg prometheus.Registerer, maxAlerts, maxBytes int) *alertBounds {
	if maxAlerts <= 0 {
		maxAlerts = DefaultMaxAlerts
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxAlertBytes
	}
	b := &alertBounds{inner: inner, sizes: map[model.Fingerprint]int{}, maxAlerts: maxAlerts, maxBytes: maxBytes}
	b.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smm_appliance_alerts_refused_total",
		Help: "Alerts refused because the alert store was at its bound, by bound (count, bytes).",
	}, []string{"bound"})
	b.countGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smm_appliance_alert_store_alerts",
		Help: "Alerts in the alert store, firing or resolved and not yet collected (bound: " + fmt.Sprint(maxAlerts) + ").",
	}, func() float64 { n, _ := b.usage(); return float64(n) })
	b.bytesGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smm_appliance_alert_store_bytes",
		Help: "Label and annotation bytes of the alerts in the alert store (bound: " + fmt.Sprint(maxBytes) + ").",
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

// overLocked says which bound n more alerts with size more bytes would
// cross ("count", "bytes"), and why, or "" if they fit; b.mtx is held.
// The API's up-front check, a rule's alert and an API request's new alerts
// are all judged here.
func (b *alertBounds) overLocked(n, size int) (string, error) {
	if len(b.sizes)+n > b.maxAlerts {
		return "count", fmt.Errorf("%w: %d alerts stored + %d new, the bound is %d (--alertmanager.max-alerts)", ErrAlertStoreFull, len(b.sizes), n, b.maxAlerts)
	}
	if b.bytes+size > b.maxBytes {
		return "bytes", fmt.Errorf("%w: %d bytes stored + %d new, the bound is %d (--alertmanager.max-alert-bytes)", ErrAlertStoreFull, b.bytes, size, b.maxBytes)
	}
	return "", nil
}

// full reports whether a request of about n bytes of new alerts would be
// refused, for the API to refuse it whole and up front.
func (b *alertBounds) full(n int) error {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	_, err := b.overLocked(1, n)
	return err
}

func (b *alertBounds) PreStore(a *alert.Alert, existing bool) error {
	fp, size := a.Fingerprint(), alertSize(a)
	b.mtx.Lock()
	old, known := b.sizes[fp]
	if !known && !existing && !internal(a) {
		if bound, err := b.overLocked(1, size); err != nil {
			b.mtx.Unlock()
			b.refused.WithLabelValues(bound).Inc()
			return err
		}
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

// reserve admits a request's alerts whole or not at all: the new ones
// (not stored yet) are counted in before they are put, so PreStore passes
// them as known, or, if they do not all fit, none is and the error says
// why. Without it the store drops the alerts over the bound one by one
// while the API answers 200 for the request (mem.Alerts.Put logs a
// PreStore error and goes on): 51 alerts of a 10k storm were lost so. It
// returns the fingerprints it counted in, for release.
func (b *alertBounds) reserve(alerts []*alert.Alert) ([]model.Fingerprint, error) {
	b.mtx.Lock()
	defer b.mtx.Unlock()
	added := map[model.Fingerprint]int{}
	bytes := 0
	for _, a := range alerts {
		fp := a.Fingerprint()
		if _, known := b.sizes[fp]; known || internal(a) {
			continue
		}
		if _, dup := added[fp]; dup {
			continue
		}
		n := alertSize(a)
		added[fp] = n
		bytes += n
	}
	if bound, err := b.overLocked(len(added), bytes); err != nil {
		b.refused.WithLabelValues(bound).Inc()
		return nil, err
	}
	fps := make([]model.Fingerprint, 0, len(added))
	for fp, n := range added {
		b.sizes[fp] = n
		b.bytes += n
		fps = append(fps, fp)
	}
	return fps, nil
}

// release takes back reservations whose alerts the store did not keep.
func (b *alertBounds) release(fps []model.Fingerprint, stored func(model.Fingerprint) bool) {
	for _, fp := range fps {
		if stored(fp) {
			continue
		}
		b.mtx.Lock()
		if n, ok := b.sizes[fp]; ok {
			b.bytes -= n
			delete(b.sizes, fp)
		}
		b.mtx.Unlock()
	}
}

// admittingAlerts is the alert store as the API writes to it: a POST is
// stored whole or refused whole (reserve). Rule evaluations write through
// changeTracking alone, alert by alert, so that a rule's alerts that fit
// are kept when the store is near its bound.
type admittingAlerts struct {
	changeTracking
	bounds *alertBounds
}

func (a admittingAlerts) Put(ctx context.Context, alerts ...*alert.Alert) error {
	fps, err := a.bounds.reserve(alerts)
	if err != nil {
		if r, ok := ctx.Value(refusalKey{}).(*refusal); ok {
			r.err = err
		}
		return err
	}
	err = a.changeTracking.Put(ctx, alerts...)
	a.bounds.release(fps, func(fp model.Fingerprint) bool { _, err := a.Get(fp); return err == nil })
	return err
}

// refusal carries a store refusal from Put back to refuseOverBounds: the
// API answers any Put error with 500, which for a full store is 507.
type refusal struct{ err error }

type refusalKey struct{}

// refuseOverBounds answers 507 to an alert POST the store cannot take: at
// once, before the API parses it, while the store is at its bounds, and
// after parsing when its new alerts do not fit (admittingAlerts). Either
// way nothing of the request is stored.
func (am *Alertmanager) refuseOverBounds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The API's router also serves /alerts/ (trailing slash).
		if r.Method != http.MethodPost || !strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/alerts") {
			next.ServeHTTP(w, r)
			return
		}
		n := max(int(r.ContentLength), 0)
		if err := am.bounds.full(n); err != nil {
			am.bounds.refused.WithLabelValues("request").Inc()
			http.Error(w, "alerts refused: "+err.Error(), http.StatusInsufficientStorage)
			return
		}
		ref := &refusal{}
		buf := &bufferedResponse{header: w.Header(), code: http.StatusOK}
		next.ServeHTTP(buf, r.WithContext(context.WithValue(r.Context(), refusalKey{}, ref)))
		if ref.err != nil {
			http.Error(w, "alerts refused: "+ref.err.Error(), http.StatusInsufficientStorage)
			return
		}
		w.WriteHeader(buf.code)
		_, _ = w.Write(buf.body.Bytes())
	})
}
