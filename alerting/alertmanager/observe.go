package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
)

// Attempt is one call of one integration: what the notification history
// records.
type Attempt struct {
	Time        time.Time
	Receiver    string
	Integration string
	Index       int
	GroupKey    string
	Alerts      []*alert.Alert
	Resolved    []bool // per alert, at send time
	Err         error
	Retry       bool // the pipeline will try again
	Duration    time.Duration
	Attempt     int // 1 for the first try of a flush
	// Channel and Message are what was sent where (rendered.go).
	Channel, Message string
}

// Observer receives every attempt. It must not block for long: it runs on
// the notification path.
type Observer func(Attempt)

// observed wraps an integration so every attempt reaches the observer.
// Integration.Notify only adds tracing, so wrapping it keeps upstream
// behaviour (metrics are counted by the retry stage around us).
type observed struct {
	inner    notify.Integration
	receiver string
	observe  Observer
	attempts *attemptCounter
	gate     *gate
	render   renderer // nil: nothing recorded (rendered.go)
}

var _ notify.Notifier = (*observed)(nil)

func (o *observed) Notify(ctx context.Context, alerts ...*alert.Alert) notify.NotifyVerdict {
	if !o.gate.enter() {
		// Shutting down: the observer's stores are closing, and a send
		// now would not be recorded. The nflog has no entry for it, so
		// the next start (or a peer) sends it.
		return notify.Unrecoverable(errShuttingDown, notify.DefaultReason)
	}
	defer o.gate.leave()
	start := time.Now()
	verdict := o.inner.Notify(ctx, alerts...)
	gk, _ := notify.GroupKey(ctx)
	agID, _ := notify.AggrGroupID(ctx)
	flush, _ := notify.FlushID(ctx)
	key := fmt.Sprintf("%s/%d/%s/%d", agID, flush, o.inner.Name(), o.inner.Index())
	n := o.attempts.next(key, verdict.Err() == nil || !verdict.ShouldRetry())
	var channel, message string
	if o.render != nil {
		channel, message = o.render(ctx, alerts)
	}
	resolved := make([]bool, len(alerts))
	for i, a := range alerts {
		resolved[i] = a.ResolvedAt(start)
	}
	o.observe(Attempt{
		Time: start, Receiver: o.receiver, Integration: o.inner.Name(), Index: o.inner.Index(),
		GroupKey: gk, Alerts: alerts, Resolved: resolved, Err: verdict.Err(), Retry: verdict.ShouldRetry(),
		Duration: time.Since(start), Attempt: n,
		Channel: channel, Message: message,
	})
	return verdict
}

func observe(ints []notify.Integration, receiver string, obs Observer, counter *attemptCounter, g *gate, renders map[string]renderer) []notify.Integration {
	if obs == nil {
		return ints
	}
	out := make([]notify.Integration, len(ints))
	for i := range ints {
		inner := ints[i]
		out[i] = notify.NewIntegration(&observed{inner: inner, receiver: receiver, observe: obs, attempts: counter, gate: g, render: renders[fmt.Sprintf("%s/%d", inner.Name(), inner.Index())]},
			&inner, inner.Name(), inner.Index(), receiver)
	}
	return out
}

var errShuttingDown = errors.New("alertmanager is shutting down")

// gate lets Close wait for attempts in flight (their observer calls
// included) and refuse new ones, so the stores the observer writes to are
// closed only after the last attempt is recorded.
type gate struct {
	mtx    sync.RWMutex
	closed bool
}

func (g *gate) enter() bool {
	g.mtx.RLock()
	if g.closed {
		g.mtx.RUnlock()
		return false
	}
	return true
}

func (g *gate) leave() { g.mtx.RUnlock() }

// close waits up to timeout for attempts in flight. It reports false if
// some were still running; those finish on their own (their contexts are
// cancelled by then) but may be recorded after the stores closed.
func (g *gate) close(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		g.mtx.Lock()
		g.closed = true
		g.mtx.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// attemptCounter numbers the retries of one flush of one integration.
type attemptCounter struct {
	mtx sync.Mutex
	n   map[string]*attempts
}

type attempts struct {
	n    int
	last time.Time
}

// next returns the attempt number for key; done forgets the key. A flush
// whose retries ended by timeout never says done, so keys idle for longer
// than any flush can last are pruned.
func (c *attemptCounter) next(key string, done bool) int {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	now := time.Now()
	if c.n == nil {
		c.n = map[string]*attempts{}
	}
	if len(c.n) > 256 {
		for k, a := range c.n {
			if now.Sub(a.last) > 15*time.Minute {
				delete(c.n, k)
			}
		}
	}
	a, ok := c.n[key]
	if !ok {
		a = &attempts{}
		c.n[key] = a
	}
	a.n++
	a.last = now
	if done {
		delete(c.n, key)
	}
	return a.n
}
