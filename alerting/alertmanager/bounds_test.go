package alertmanager

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

type nopCallback struct{}

func (nopCallback) PreStore(*alert.Alert, bool) error { return nil }
func (nopCallback) PostStore(*alert.Alert, bool)      {}
func (nopCallback) PostDelete(*alert.Alert)           {}
func (nopCallback) PostGC(model.Fingerprints)         {}

// TestAlertStoreBounds: new alerts over the count bound are refused and
// counted; updates of stored alerts and the appliance's own alerts pass.
func TestAlertStoreBounds(t *testing.T) {
	b := newAlertBounds(nopCallback{}, prometheus.NewRegistry(), 3, 0)
	store, err := mem.NewAlerts(context.Background(), time.Hour, 0, b, promslog.NewNopLogger(), eventrecorder.Recorder{}, prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	defer store.Close()
	now := time.Now()
	mk := func(name string) *alert.Alert {
		return alert.New(model.Alert{Labels: model.LabelSet{"alertname": model.LabelValue(name)}, StartsAt: now, EndsAt: now.Add(time.Hour)}, now, false)
	}
	for i := range 5 {
		require.NoError(t, store.Put(context.Background(), mk(fmt.Sprint("A", i))))
	}
	n, _ := b.usage()
	require.Equal(t, 3, n)
	require.Equal(t, 2.0, testutil.ToFloat64(b.refused.WithLabelValues("count")))
	require.ErrorIs(t, b.full(0), ErrAlertStoreFull)

	require.NoError(t, store.Put(context.Background(), mk("A0")), "an update passes")
	require.NoError(t, store.Put(context.Background(), mk(StorageFullAlert)))
	_, err = store.Get(mk(StorageFullAlert).Fingerprint())
	require.NoError(t, err, "the appliance's own alert is never refused")
}

// TestAlertStoreAdmitsWholeRequests: the API's writes are stored whole or
// refused whole, so a 200 never covers an alert the store dropped (a 10k
// POST that straddled the bound lost 51 alerts under a 200).
func TestAlertStoreAdmitsWholeRequests(t *testing.T) {
	b := newAlertBounds(nopCallback{}, prometheus.NewRegistry(), 5, 0)
	store, err := mem.NewAlerts(context.Background(), time.Hour, 0, b, promslog.NewNopLogger(), eventrecorder.Recorder{}, prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	defer store.Close()
	var changed atomic.Bool
	api := admittingAlerts{changeTracking{store, &changed}, b}
	now := time.Now()
	mk := func(names ...string) []*alert.Alert {
		var out []*alert.Alert
		for _, n := range names {
			out = append(out, alert.New(model.Alert{Labels: model.LabelSet{"alertname": model.LabelValue(n)}, StartsAt: now, EndsAt: now.Add(time.Hour)}, now, false))
		}
		return out
	}
	stored := func() int { n, _ := b.usage(); return n }
	ctx := context.Background()

	require.NoError(t, api.Put(ctx, mk("A", "B", "C")...))
	ref := &refusal{}
	err = api.Put(context.WithValue(ctx, refusalKey{}, ref), mk("A", "D", "E", "F")...)
	require.ErrorIs(t, err, ErrAlertStoreFull, "3 stored + 3 new > 5")
	require.ErrorIs(t, ref.err, ErrAlertStoreFull, "the refusal reaches the HTTP layer")
	require.Equal(t, 3, stored(), "nothing of a refused request is stored")
	for _, n := range []string{"D", "E", "F"} {
		_, err := store.Get(mk(n)[0].Fingerprint())
		require.Error(t, err, "%s was refused with its request", n)
	}

	require.NoError(t, api.Put(ctx, mk("A", "D", "D", "E")...), "updates and duplicates count once: 3 + 2 = 5")
	require.Equal(t, 5, stored())
	require.ErrorIs(t, api.Put(ctx, mk("G")...), ErrAlertStoreFull)
	require.NoError(t, api.Put(ctx, mk("A", "B")...), "updates pass at the bound")
	require.NoError(t, api.Put(ctx, mk(StorageFullAlert)...), "the appliance's own alerts pass")
	require.Equal(t, 2.0, testutil.ToFloat64(b.refused.WithLabelValues("count")))
}

// TestAlertStoreAdmitsConcurrentRequests: requests racing for the last room
// are each stored whole or refused whole, and together never pass the bound.
func TestAlertStoreAdmitsConcurrentRequests(t *testing.T) {
	const bound, requests, perRequest = 100, 40, 7
	b := newAlertBounds(nopCallback{}, prometheus.NewRegistry(), bound, 0)
	store, err := mem.NewAlerts(context.Background(), time.Hour, 0, b, promslog.NewNopLogger(), eventrecorder.Recorder{}, prometheus.NewRegistry(), featurecontrol.NoopFlags{})
	require.NoError(t, err)
	defer store.Close()
	var changed atomic.Bool
	api := admittingAlerts{changeTracking{store, &changed}, b}
	now := time.Now()
	batch := func(r int) []*alert.Alert {
		var out []*alert.Alert
		for i := range perRequest {
			out = append(out, alert.New(model.Alert{Labels: model.LabelSet{"alertname": "Race", "r": model.LabelValue(fmt.Sprint(r)), "i": model.LabelValue(fmt.Sprint(i))}, StartsAt: now, EndsAt: now.Add(time.Hour)}, now, false))
		}
		return out
	}
	errs := make([]error, requests)
	var wg sync.WaitGroup
	for r := range requests {
		wg.Go(func() { errs[r] = api.Put(context.Background(), batch(r)...) })
	}
	wg.Wait()
	accepted := 0
	for r, err := range errs {
		kept := 0
		for _, a := range batch(r) {
			if _, err := store.Get(a.Fingerprint()); err == nil {
				kept++
			}
		}
		if err == nil {
			require.Equal(t, perRequest, kept, "request %d was accepted whole", r)
			accepted++
		} else {
			require.ErrorIs(t, err, ErrAlertStoreFull)
			require.Zero(t, kept, "request %d was refused whole", r)
		}
	}
	n, _ := b.usage()
	require.Equal(t, bound/perRequest, accepted, "as many requests as fit, no more")
	require.Equal(t, accepted*perRequest, n)
}
