package appliance

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
)

// newTestCoordinator is a coordinator over the embedded defaults.
func newTestCoordinator(t *testing.T) *coordinator {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, configfiles.Materialize(configs.FS, dir))
	loader := configfiles.Loader{Sources: configfiles.Sources{EmbeddedDir: dir}, Lookup: LookupEnv("test")}
	return newCoordinator(loader, promslog.NewNopLogger(), prometheus.NewRegistry())
}

// TestReloadReadersDoNotWait: while a reload is stuck in a part, the
// configuration in force and the last outcome answer at once.
func TestReloadReadersDoNotWait(t *testing.T) {
	c := newTestCoordinator(t)
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	var blocking bool
	c.subscribe("slow", func(*configfiles.Set) error {
		if blocking {
			entered <- struct{}{}
			<-block
		}
		return nil
	})
	require.Nil(t, c.Current(), "nothing in force before the first load")
	require.NoError(t, c.Reload("test"))
	first := c.Current()
	require.NotNil(t, first)

	blocking = true
	done := make(chan error, 1)
	go func() { done <- c.Reload("test") }()
	<-entered
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				start := time.Now()
				require.Same(t, first, c.Current())
				ok, _ := c.Last()
				require.True(t, ok)
				require.Less(t, time.Since(start), 50*time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(block)
	require.NoError(t, <-done)
	require.NotSame(t, first, c.Current(), "the new set is in force once applied")
}

// TestReloadFailingPartRestoresPrevious: when one part refuses the new
// configuration, every part already given it, and the failing one, get the
// previous configuration back, the reload fails naming the part, and the
// previous set stays in force.
func TestReloadFailingPartRestoresPrevious(t *testing.T) {
	c := newTestCoordinator(t)
	got := map[string]*configfiles.Set{}
	fail := false
	for _, name := range []string{"a", "b", "c", "d"} {
		c.subscribe(name, func(s *configfiles.Set) error {
			if name == "c" && fail {
				got[name] = s // applied half way, then failed
				return errors.New("boom")
			}
			got[name] = s
			return nil
		})
	}
	require.NoError(t, c.Reload("test"))
	prev := c.Current()
	for _, name := range []string{"a", "b", "c", "d"} {
		require.Same(t, prev, got[name])
	}

	fail = true
	err := c.Reload("test")
	require.ErrorContains(t, err, "apply c: boom")
	require.Same(t, prev, c.Current())
	for _, name := range []string{"a", "b", "c", "d"} {
		require.Same(t, prev, got[name], "part %s is not on the previous configuration", name)
	}
	ok, at := c.Last()
	require.False(t, ok)
	require.False(t, at.IsZero(), "the time of the last success is kept")
}

// TestReloadFirstLoadFailure: a failing first load leaves nothing in force
// (the appliance is not ready) and restores nothing.
func TestReloadFirstLoadFailure(t *testing.T) {
	c := newTestCoordinator(t)
	calls := 0
	c.subscribe("a", func(*configfiles.Set) error { calls++; return nil })
	c.subscribe("b", func(*configfiles.Set) error { return errors.New("boom") })
	require.ErrorContains(t, c.Reload("start"), "apply b")
	require.Nil(t, c.Current())
	require.Equal(t, 1, calls)
}

// TestReloadAfterStop: once the parts stop, reloads are refused; Stop
// waits for the reload in progress.
func TestReloadAfterStop(t *testing.T) {
	c := newTestCoordinator(t)
	block, entered := make(chan struct{}), make(chan struct{})
	c.subscribe("slow", func(*configfiles.Set) error { close(entered); <-block; return nil })
	done := make(chan error, 1)
	go func() { done <- c.Reload("test") }()
	<-entered
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned during a reload")
	case <-time.After(50 * time.Millisecond):
	}
	close(block)
	require.NoError(t, <-done)
	<-stopped
	require.ErrorIs(t, c.Reload("test"), ErrStopping)
}

// TestReloadLogsDisabledChannelsOnChange: the "secret not set" warnings
// come at the first load and when a secret appears or goes, not again on
// every reload (issue 16).
func TestReloadLogsDisabledChannelsOnChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "embedded")
	require.NoError(t, configfiles.Materialize(configs.FS, dir))
	env := map[string]string{}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	c := newCoordinator(configfiles.Loader{Sources: configfiles.Sources{EmbeddedDir: dir}, Lookup: lookup}, logger, prometheus.NewRegistry())
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs.String(), "secret not set")
	}
	require.NoError(t, c.Reload("start"))
	first := count()
	require.Positive(t, first)
	require.NoError(t, c.Reload("test"))
	require.NoError(t, c.Reload("test"))
	require.Equal(t, first, count(), "unchanged: not logged again")
	env["SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/T/B/x"
	require.NoError(t, c.Reload("test"))
	require.Greater(t, count(), first, "changed: logged")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
