package appliance

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/web/audit"
)

// subscriber is one part that takes a new configuration.
type subscriber struct {
	name  string
	apply func(*configfiles.Set) error
}

// coordinator is the single reload path: SIGHUP, POST /-/reload and start-up
// all come here. It loads and validates every file first; only a complete,
// valid set is handed to the subscribers, in order. A set that fails to load
// leaves the running configuration untouched.
type coordinator struct {
	loader      configfiles.Loader
	prepare     func(*configfiles.Set) error // adds what code contributes, e.g. the self-scrape job
	subscribers []subscriber
	logger      *slog.Logger

	mtx      sync.Mutex
	current  *configfiles.Set
	lastOK   bool
	lastTime time.Time

	success     prometheus.Gauge
	successTime prometheus.Gauge

	// audit records each reload: who, which files with their hashes, result.
	audit func(audit.Entry)

	// preloaded, if set, is the result of a load started before the
	// first Reload, which takes it instead of loading again.
	preloaded chan loadResult
}

type loadResult struct {
	set *configfiles.Set
	err error
}

// preload starts loading the configuration in the background.
func (c *coordinator) preload() {
	ch := make(chan loadResult, 1)
	go func() {
		set, err := c.loader.Load()
		ch <- loadResult{set, err}
	}()
	c.preloaded = ch
}

// load returns the preloaded configuration the first time, if any, and
// loads the files afresh otherwise.
func (c *coordinator) load() (*configfiles.Set, error) {
	if ch := c.preloaded; ch != nil {
		c.preloaded = nil
		r := <-ch
		return r.set, r.err
	}
	return c.loader.Load()
}

func newCoordinator(loader configfiles.Loader, logger *slog.Logger, reg prometheus.Registerer) *coordinator {
	c := &coordinator{
		loader: loader,
		logger: logger.With("component", "reload"),
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smm_appliance_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smm_appliance_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(c.success, c.successTime)
	return c
}

func (c *coordinator) subscribe(name string, apply func(*configfiles.Set) error) {
	c.subscribers = append(c.subscribers, subscriber{name: name, apply: apply})
}

// Reload loads, validates and applies the configuration. by names who asked
// ("signal", "start", a user) for the audit log.
func (c *coordinator) Reload(by string) (err error) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	start := time.Now()
	var digests map[string]string
	defer func() {
		if c.audit != nil {
			e := audit.Entry{Event: "config_reload", User: by, Result: "success", Files: digests}
			if err != nil {
				e.Result, e.Error = "failure", err.Error()
			}
			c.audit(e)
		}
		c.lastOK = err == nil
		if err != nil {
			c.success.Set(0)
			c.logger.Error("configuration reload failed; the previous configuration stays in force", "err", err)
			return
		}
		c.lastTime = time.Now()
		c.success.Set(1)
		c.successTime.SetToCurrentTime()
		c.logger.Info("configuration loaded", "duration", time.Since(start))
	}()

	set, err := c.load()
	if err != nil {
		return err
	}
	digests = set.Digests
	if c.prepare != nil {
		if err := c.prepare(set); err != nil {
			return err
		}
	}
	logDisabled(c.logger, set.DisabledChannels())
	var errs []error
	for _, s := range c.subscribers {
		t := time.Now()
		if err := s.apply(set); err != nil {
			errs = append(errs, fmt.Errorf("apply %s: %w", s.name, err))
			continue
		}
		c.logger.Debug("applied configuration", "part", s.name, "duration", time.Since(t))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c.current = set
	return nil
}

// Current returns the configuration in force, or nil before the first load.
func (c *coordinator) Current() *configfiles.Set {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	return c.current
}

// Last reports the outcome and time of the last successful reload.
func (c *coordinator) Last() (bool, time.Time) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	return c.lastOK, c.lastTime
}

// logDisabled says once per missing secret which channels it switched off,
// rather than one line per receiver.
func logDisabled(logger *slog.Logger, disabled []configfiles.Channel) {
	type group struct {
		integration string
		receivers   []string
	}
	var order []string
	groups := map[string]*group{}
	for _, ch := range disabled {
		key := ch.Integration + " " + strings.Join(ch.Missing, ",")
		g, ok := groups[key]
		if !ok {
			g = &group{integration: ch.Integration}
			groups[key] = g
			order = append(order, key)
		}
		g.receivers = append(g.receivers, ch.Receiver)
	}
	for _, key := range order {
		g := groups[key]
		_, missing, _ := strings.Cut(key, " ")
		logger.Warn("notification channel disabled: secret not set",
			"integration", g.integration, "missing", missing, "receivers", strings.Join(g.receivers, ","))
	}
}
