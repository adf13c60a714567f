package alertmanager

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestAttemptCounter(t *testing.T) {
	var c attemptCounter
	require.Equal(t, 1, c.next("flush-1", false))
	require.Equal(t, 2, c.next("flush-1", false))
	require.Equal(t, 3, c.next("flush-1", true)) // delivered: forgotten
	require.Equal(t, 1, c.next("flush-1", false))
	require.Equal(t, 1, c.next("flush-2", true))
	require.Len(t, c.n, 1)
}

// blockingNotifier holds each notification until released.
type blockingNotifier struct {
	started chan struct{}
	release chan struct{}
}

func (b *blockingNotifier) Notify(ctx context.Context, _ ...*alert.Alert) notify.NotifyVerdict {
	b.started <- struct{}{}
	<-b.release
	return notify.Success()
}

// TestCloseDrainsAttemptsInFlight: closing the gate waits for a
// notification in flight and its observer call, and refuses later ones
// without sending them, so the stores behind the observer can close safely.
func TestCloseDrainsAttemptsInFlight(t *testing.T) {
	inner := &blockingNotifier{started: make(chan struct{}, 1), release: make(chan struct{})}
	var g gate
	var observed atomic.Int64
	ints := observe([]notify.Integration{notify.NewIntegration(inner, nil, "webhook", 0, "r")}, "r",
		func(Attempt) { observed.Add(1) }, &attemptCounter{}, &g, nil)
	a := &alert.Alert{Alert: model.Alert{Labels: model.LabelSet{"alertname": "A"}}}

	go ints[0].Notify(context.Background(), a)
	<-inner.started
	closed := make(chan bool)
	go func() { closed <- g.close(10 * time.Second) }()
	select {
	case <-closed:
		t.Fatal("close returned while a notification was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(inner.release)
	require.True(t, <-closed)
	require.EqualValues(t, 1, observed.Load(), "the attempt in flight was observed before close returned")

	v := ints[0].Notify(context.Background(), a)
	require.ErrorIs(t, v.Err(), errShuttingDown)
	require.EqualValues(t, 1, observed.Load(), "nothing sent or observed after close")
}
