package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Simulator serves the simulated SMM platform: one endpoint per job, a control API and
// the tick that moves the models.
type Simulator struct {
	opts   Options
	logger *slog.Logger

	fleet       fleet
	mountpoints []string
	registries  map[string]*prometheus.Registry
	down        map[string]*atomic.Bool // per job, set while a target-down scenario is active
	endpoints   []*endpoint             // JobNames order, then the bench targets
	control     *http.Server
	controlLn   net.Listener
	listened    bool // Listen bound the listeners
	ticks       atomic.Int64

	// mu guards the simulated world. A step holds it throughout, so scenario changes
	// and readers of the clock see whole steps.
	mu     sync.Mutex
	now    time.Time
	rnd    *rng
	models []jobModel
	active activeSet

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the simulated platform and takes its first step; Start serves it.
func New(opts Options, logger *slog.Logger) (*Simulator, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	if opts.Step == 0 {
		opts.Step = opts.Tick
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	if opts.Seed == 0 {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	s := &Simulator{
		opts:       opts,
		logger:     logger,
		fleet:      newFleet(opts.Fleet),
		registries: make(map[string]*prometheus.Registry, len(JobNames)),
		down:       make(map[string]*atomic.Bool, len(JobNames)),
		now:        opts.Start,
		rnd:        newRNG(opts.Seed),
		active:     activeSet{},
	}
	for _, job := range JobNames {
		s.registries[job] = prometheus.NewRegistry()
		s.down[job] = &atomic.Bool{}
	}

	node := newNodeModel(s.registries[JobNode])
	s.mountpoints = node.mountpoints()
	s.models = []jobModel{
		newConnectorsModel(s.fleet.connectors, s.registries[JobConnectors], s.rnd, s.now),
		newAgentsModel(s.fleet.agents, s.registries[JobAgents], s.rnd),
		newBudgetModel(s.fleet.campaigns, s.registries[JobBudget], s.rnd),
		newSimulationModel(s.registries[JobSimulation], s.rnd),
		newCanaryModel(s.registries[JobCanary]),
		newAPIModel(s.fleet.users, s.registries[JobAPI], s.rnd),
		newPublisherModel(s.fleet.connectors, opts.Fleet.Workspaces, s.registries[JobPublisher], s.rnd, s.now),
		newPostgresModel(s.registries[JobPostgres], s.now),
		newRedisModel(s.registries[JobRedis]),
		newVaultModel(s.registries[JobVault]),
		node,
	}
	if opts.Fleet.Workspaces*9/10 <= 100 {
		logger.Warn("fewer than ~112 workspaces: SMM_WorkspaceActivityDrop fires even when healthy", "workspaces", opts.Fleet.Workspaces)
	}

	for _, job := range JobNames {
		paths := []string{"/metrics"}
		if job == JobVault {
			paths = []string{vaultMetricsPath, "/metrics"}
		}
		s.endpoints = append(s.endpoints, newEndpoint(job, paths, metricsHandler(s.registries[job]), s.down[job], logger))
	}
	if opts.Series > 0 {
		never := &atomic.Bool{}
		for _, bt := range newBenchTargets(opts.Series, opts.SeriesTargets, &s.ticks) {
			s.endpoints = append(s.endpoints, newEndpoint(JobBench, []string{"/metrics"}, bt, never, logger))
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range opts.Scenarios {
		if err := s.activateLocked(name, "", "flag"); err != nil {
			return nil, err
		}
	}
	s.stepLocked(0)
	return s, nil
}

// Listen binds every listener without serving yet, so that a caller can do
// slow work first (the backfill) holding its ports: a port taken meanwhile
// fails here, before the work, not after it. Start calls it if it was not.
// On error nothing is left listening.
func (s *Simulator) Listen() (err error) {
	if s.listened {
		return nil
	}
	defer func() {
		if err != nil {
			s.closeListeners()
		}
	}()
	for i, e := range s.endpoints {
		port := 0
		if s.opts.BasePort > 0 {
			port = s.opts.BasePort + i
		}
		if err := e.listen(s.opts.Host, port); err != nil {
			return err
		}
	}
	if s.opts.ControlAddress != "" {
		ln, err := net.Listen("tcp", s.opts.ControlAddress)
		if err != nil {
			return fmt.Errorf("listen for control API: %w", err)
		}
		s.controlLn = ln
		s.control = &http.Server{
			Handler:           s.controlHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		}
	}
	s.listened = true
	return nil
}

// Start binds every listener (unless Listen did) and starts serving,
// ticking and, if enabled, the demo. On error nothing is left listening.
func (s *Simulator) Start() error {
	if err := s.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, e := range s.endpoints {
		s.wg.Go(func() { e.serve(s.logger) })
	}
	if s.control != nil {
		s.wg.Go(func() {
			if err := s.control.Serve(s.controlLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logger.Error("serve failed", "component", "control", "err", err)
			}
		})
	}
	s.wg.Go(func() { s.runTicker(ctx) })
	if s.opts.Demo.Enabled {
		started := s.demoStart(s.opts.Demo.Scenarios[0])
		s.wg.Go(func() { s.runDemo(ctx, started) })
	}
	s.logger.Info("simulator started", "jobs", len(JobNames), "control", s.ControlAddr(), "tick", s.opts.Tick, "step", s.opts.Step)
	return nil
}

// Stop stops the tick and the demo, then shuts every listener down. Stopping twice, or
// before Start, does nothing.
func (s *Simulator) Stop() error {
	if s.cancel == nil {
		// Listened, never started: nothing serves, the ports are held.
		if s.listened {
			s.closeListeners()
			s.listened = false
		}
		return nil
	}
	s.cancel()
	s.cancel = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, e := range s.endpoints {
		errs = append(errs, e.shutdown(ctx))
	}
	if s.control != nil {
		if err := s.control.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop control API: %w", err))
		}
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// Run starts the simulator and serves until ctx is done.
func (s *Simulator) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Stop()
}

func (s *Simulator) runTicker(ctx context.Context) {
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Advance(s.opts.Step)
		}
	}
}

// Advance moves the simulated clock d forward and every model with it. The ticker calls
// it with Options.Step; a backfill can call it directly.
func (s *Simulator) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.stepLocked(d.Seconds())
}

func (s *Simulator) stepLocked(dt float64) {
	st := &step{now: s.now, dt: dt, rnd: s.rnd, active: s.active}
	for _, m := range s.models {
		m.advance(st)
	}
	s.ticks.Add(1)
}

// Now returns the simulated clock.
func (s *Simulator) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Gatherer returns the registry of a platform job, for in-process readers such as a
// future backfill; nil for unknown jobs.
func (s *Simulator) Gatherer(job string) prometheus.Gatherer {
	if reg, ok := s.registries[job]; ok {
		return reg
	}
	return nil
}

// Jobs returns the jobs and their listen addresses, platform jobs in port order, then
// the bench job if Options.Series is set. Addresses are empty before Start.
func (s *Simulator) Jobs() []Job {
	var jobs []Job
	for _, e := range s.endpoints {
		if n := len(jobs); n > 0 && jobs[n-1].Name == e.job {
			jobs[n-1].Addresses = append(jobs[n-1].Addresses, e.addr())
			continue
		}
		jobs = append(jobs, Job{Name: e.job, Addresses: []string{e.addr()}, MetricsPath: e.path})
	}
	return jobs
}

// ControlAddr returns the control API's listen address, empty if it is not serving.
func (s *Simulator) ControlAddr() string {
	if s.controlLn == nil {
		return ""
	}
	return s.controlLn.Addr().String()
}

// targets returns the valid targets of a target kind; the first is the default.
func (s *Simulator) targets(kind string) []string {
	switch kind {
	case TargetConnector:
		return s.fleet.connectors
	case TargetAgent:
		return s.fleet.agents
	case TargetCampaign:
		out := make([]string, len(s.fleet.campaigns))
		for i, c := range s.fleet.campaigns {
			out[i] = c.String()
		}
		return out
	case TargetDeployment:
		out := make([]string, len(canaryDeployments))
		for i, d := range canaryDeployments {
			out[i] = d.deployment
		}
		return out
	case TargetUser:
		return s.fleet.users
	case TargetMountpoint:
		// The data volume first: filling it is the likely real incident.
		out := []string{defaultDiskMount}
		for _, m := range s.mountpoints {
			if m != defaultDiskMount {
				out = append(out, m)
			}
		}
		return out
	case TargetLicense:
		return licenses
	}
	return nil
}

func (s *Simulator) defaultTarget(sc Scenario) string {
	if sc.TargetKind == "" {
		return ""
	}
	return s.targets(sc.TargetKind)[0]
}

// Activate starts a scenario on target, or on its default target if target is empty.
// Activating an active scenario re-aims it; its start time is kept if the target is
// unchanged. The metrics move at once; counters need ticks to show rates.
func (s *Simulator) Activate(name, target string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.activateLocked(name, target, "api"); err != nil {
		return err
	}
	s.stepLocked(0)
	return nil
}

func (s *Simulator) activateLocked(name, target, source string) error {
	sc, ok := scenarioByName[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownScenario, name)
	}
	switch {
	case sc.TargetKind == "" && target != "":
		return fmt.Errorf("%w: scenario %s takes no target", ErrUnknownTarget, name)
	case target == "":
		target = s.defaultTarget(sc)
	case !slices.Contains(s.targets(sc.TargetKind), target):
		return fmt.Errorf("%w: no %s %q", ErrUnknownTarget, sc.TargetKind, target)
	}
	if cur, ok := s.active[name]; ok && cur.target == target {
		return nil
	}
	s.active[name] = activation{target: target, since: s.now, source: source}
	s.updateDownLocked()
	s.logger.Info("scenario activated", "scenario", name, "target", target, "by", source, "alerts", sc.Alerts)
	return nil
}

// Deactivate ends a scenario; ending an inactive one is not an error.
func (s *Simulator) Deactivate(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := scenarioByName[name]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownScenario, name)
	}
	s.deactivateLocked(name)
	s.stepLocked(0)
	return nil
}

// DeactivateAll ends every scenario.
func (s *Simulator) DeactivateAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.active {
		s.deactivateLocked(name)
	}
	s.stepLocked(0)
}

func (s *Simulator) deactivateLocked(name string) {
	if _, ok := s.active[name]; !ok {
		return
	}
	delete(s.active, name)
	s.updateDownLocked()
	s.logger.Info("scenario deactivated", "scenario", name)
}

func (s *Simulator) updateDownLocked() {
	down := map[string]bool{}
	for name := range s.active {
		if sc := scenarioByName[name]; sc.TargetDown {
			down[sc.Job] = true
		}
	}
	for job, flag := range s.down {
		flag.Store(down[job])
	}
}

// ScenarioStatuses lists every scenario in Scenarios order with its activation.
func (s *Simulator) ScenarioStatuses() []ScenarioStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ScenarioStatus, 0, len(Scenarios))
	for _, sc := range Scenarios {
		st := ScenarioStatus{Scenario: sc, DefaultTarget: s.defaultTarget(sc)}
		if act, ok := s.active[sc.Name]; ok {
			since := act.since
			st.Active, st.Target, st.Since, st.Source = true, act.target, &since, act.source
		}
		out = append(out, st)
	}
	return out
}

// ActiveScenarios returns the names of the active scenarios, sorted.
func (s *Simulator) ActiveScenarios() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.active))
	for name := range s.active {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// closeListeners closes what Listen bound, for a start that failed or never
// came.
func (s *Simulator) closeListeners() {
	for _, e := range s.endpoints {
		if e.ln != nil {
			_ = e.ln.Close()
		}
	}
	if s.controlLn != nil {
		_ = s.controlLn.Close()
	}
}
