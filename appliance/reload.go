package appliance

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// reloadOutcome is the result of the last reload attempt.
type reloadOutcome struct {
	ok      bool
	at      time.Time    // of the last successful reload
	lastErr *ReloadError // of the last failed one, until one succeeds
}

// ReloadError is the last failed reload, kept in the status API until a
// reload succeeds so that an operator sees why without the log.
type ReloadError struct {
	File    string    `json:"file,omitempty"` // the first file the message names
	Line    int       `json:"line,omitempty"` // its line, when the parser gave one
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

var (
	errFile = regexp.MustCompile(`(/[^\s:"]+\.(?:ya?ml|tmpl))`)
	errLine = regexp.MustCompile(`(?:\.(?:ya?ml|tmpl): ?(\d+):|line (\d+))`)
)

// newReloadError says which file and line err names.
func newReloadError(err error, at time.Time) *ReloadError {
	msg := err.Error()
	e := &ReloadError{Message: msg, Time: at}
	if m := errFile.FindStringSubmatch(msg); m != nil {
		e.File = m[1]
	}
	if m := errLine.FindStringSubmatch(msg); m != nil {
		n := m[1]
		if n == "" {
			n = m[2]
		}
		e.Line, _ = strconv.Atoi(n)
	}
	return e
}

// ErrStopping is returned by a reload asked for while the appliance stops.
var ErrStopping = errors.New("the appliance is stopping")

// coordinator is the single reload path: SIGHUP, POST /-/reload and start-up
// all come here (alertmanager's config/coordinator.go). It loads and
// validates every file first; only a complete, valid set is handed to the
// subscribers, in order. A set that fails to load leaves the running
// configuration untouched; a part that fails to apply it gets every part
// put back on the previous configuration.
//
// Readers never wait for a reload: the configuration in force and the last
// outcome are atomic pointers, and mtx serializes reloads only.
type coordinator struct {
	loader      configfiles.Loader
	prepare     func(*configfiles.Set) error // adds what code contributes, e.g. the self-scrape job
	subscribers []subscriber
	logger      *slog.Logger

	mtx     sync.Mutex // held for the whole of a reload; never by a reader
	stopped bool       // under mtx: no reload after stop
	// disabled is, under mtx, what the last applied set logged as
	// disabled channels: a reload logs them again only when they change.
	disabled *string

	current atomic.Pointer[configfiles.Set]
	last    atomic.Pointer[reloadOutcome]

	success     prometheus.Gauge
	successTime prometheus.Gauge

	// audit records each reload: who, which files with their hashes, result.
	audit func(audit.Entry)
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
	c.last.Store(&reloadOutcome{})
	reg.MustRegister(c.success, c.successTime)
	return c
}

func (c *coordinator) subscribe(name string, apply func(*configfiles.Set) error) {
	c.subscribers = append(c.subscribers, subscriber{name: name, apply: apply})
}

// Load reads and validates every file, touching nothing; the start-up
// actor runs it while the TSDB replays its WAL and hands the result to
// Apply.
func (c *coordinator) Load() (*configfiles.Set, error) {
	set, err := c.loader.Load()
	if err != nil {
		return nil, err
	}
	if c.prepare != nil {
		if err := c.prepare(set); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// Reload loads, validates and applies the configuration. by names who asked
// ("signal", a user) for the audit log.
func (c *coordinator) Reload(by string) error {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	if c.stopped {
		return ErrStopping
	}
	start := time.Now()
	set, err := c.Load()
	return c.finish(by, start, set, c.apply(set, err))
}

// ReloadFrom is Reload with dir as the operator's configuration directory
// in place of the one in force (a deployed version, configversions.go); on
// success dir stays in force for later reloads (SIGHUP), on failure the
// previous directory and configuration do.
func (c *coordinator) ReloadFrom(by, dir string) error {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	if c.stopped {
		return ErrStopping
	}
	start := time.Now()
	prev := c.loader.Sources.Dir
	c.loader.Sources.Dir = dir
	set, err := c.Load()
	if err = c.finish(by, start, set, c.apply(set, err)); err != nil {
		c.loader.Sources.Dir = prev
	}
	return err
}

// LoadFrom loads and validates the configuration with dir as the
// operator's directory, touching nothing: a deploy's validation, the same
// loader and checks as a reload.
func (c *coordinator) LoadFrom(dir string) (*configfiles.Set, error) {
	c.mtx.Lock()
	l := c.loader
	c.mtx.Unlock()
	l.Sources.Dir = dir
	set, err := l.Load()
	if err == nil && c.prepare != nil {
		err = c.prepare(set)
	}
	return set, err
}

// Sources are the configuration layers in force.
func (c *coordinator) Sources() configfiles.Sources {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	return c.loader.Sources
}

// Apply applies a set loaded earlier by Load (or the error loading it).
func (c *coordinator) Apply(by string, set *configfiles.Set, loadErr error) error {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	if c.stopped {
		return ErrStopping
	}
	return c.finish(by, time.Now(), set, c.apply(set, loadErr))
}

// Stop waits for a reload in progress and refuses any later one: the parts
// are about to stop.
func (c *coordinator) Stop() {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	c.stopped = true
}

// apply hands set to every subscriber, in order. If one fails, the
// subscribers already given the new set and the failing one are given the
// previous set again, so that no part runs on a configuration the others
// do not. Called with mtx held.
func (c *coordinator) apply(set *configfiles.Set, loadErr error) error {
	if loadErr != nil {
		return loadErr
	}
	for i, s := range c.subscribers {
		t := time.Now()
		if err := s.apply(set); err != nil {
			err = fmt.Errorf("apply %s: %w", s.name, err)
			if prev := c.current.Load(); prev != nil {
				c.restore(prev, c.subscribers[:i+1])
			}
			return err
		}
		c.logger.Debug("applied configuration", "part", s.name, "duration", time.Since(t))
	}
	c.current.Store(set)
	c.logDisabledOnChange(set.DisabledChannels())
	return nil
}

// logDisabledOnChange logs the disabled channels at the first load and
// when they change, not on every reload: five identical warnings per
// SIGHUP hide the one line that is new.
func (c *coordinator) logDisabledOnChange(disabled []configfiles.Channel) {
	var keys []string
	for _, ch := range disabled {
		keys = append(keys, ch.Receiver+"/"+ch.Integration+"["+strconv.Itoa(ch.Index)+"]:"+strings.Join(ch.Missing, ","))
	}
	key := strings.Join(keys, " ")
	if c.disabled != nil && *c.disabled == key {
		return
	}
	if c.disabled != nil && key == "" {
		c.logger.Info("every notification channel is enabled now")
	}
	c.disabled = &key
	logDisabled(c.logger, disabled)
}

// restore puts the previous configuration back on subs.
func (c *coordinator) restore(prev *configfiles.Set, subs []subscriber) {
	for _, s := range subs {
		if err := s.apply(prev); err != nil {
			// The previous set was applied once; failing now means
			// something outside the files changed (a rule file deleted).
			c.logger.Error("restore previous configuration", "part", s.name, "err", err)
		}
	}
}

// finish records the outcome of a reload: metric, log, audit. Called with
// mtx held.
func (c *coordinator) finish(by string, start time.Time, set *configfiles.Set, err error) error {
	if c.audit != nil {
		e := audit.Entry{Event: "config_reload", User: by, Result: "success"}
		if set != nil {
			e.Files = set.Digests
		}
		if err != nil {
			e.Result, e.Error = "failure", err.Error()
		}
		c.audit(e)
	}
	prev := c.last.Load()
	if err != nil {
		c.last.Store(&reloadOutcome{ok: false, at: prev.at, lastErr: newReloadError(err, time.Now())})
		c.success.Set(0)
		if c.current.Load() != nil {
			c.logger.Error("configuration reload failed; the previous configuration stays in force", "by", by, "err", err)
		} else {
			c.logger.Error("configuration load failed", "by", by, "err", err)
		}
		return err
	}
	c.last.Store(&reloadOutcome{ok: true, at: time.Now()})
	c.success.Set(1)
	c.successTime.SetToCurrentTime()
	c.logger.Info("configuration loaded", "by", by, "duration", time.Since(start))
	logFiles(c.logger, set)
	return nil
}

// Current returns the configuration in force, or nil before the first load.
func (c *coordinator) Current() *configfiles.Set { return c.current.Load() }

// LastError returns the last failed reload, nil once a reload succeeded.
func (c *coordinator) LastError() *ReloadError { return c.last.Load().lastErr }

// Last reports the outcome of the last reload and the time of the last
// successful one.
func (c *coordinator) Last() (bool, time.Time) {
	l := c.last.Load()
	return l.ok, l.at
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

// logFiles lists the files in force by origin, and the rule groups
// switched off, so that a drop-in that was not picked up is visible.
func logFiles(logger *slog.Logger, set *configfiles.Set) {
	byOrigin := map[configfiles.Origin][]string{}
	for _, f := range set.Files {
		byOrigin[f.Origin] = append(byOrigin[f.Origin], f.Name)
	}
	logger.Info("configuration files in force",
		"added", strings.Join(byOrigin[configfiles.Added], ","),
		"overridden", strings.Join(byOrigin[configfiles.Overridden], ","),
		"embedded", strings.Join(byOrigin[configfiles.Embedded], ","),
		"rule_groups_switched_off", strings.Join(set.DisabledGroups, ","))
}
