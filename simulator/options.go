package simulator

import (
	"errors"
	"fmt"
	"time"
)

// Fleet sizes the simulated platform.
type Fleet struct {
	Connectors int // social network connectors, named linkedin, twitter, ... then connector-N
	Agents     int // AI agents, named research, creative, ... then agent-N
	Workspaces int // customer workspaces
	Campaigns  int // campaigns per workspace, each with its own budget
	Users      int // API users
}

// DemoOptions configures the rotating demo: every Interval the next scenario of Scenarios
// is activated for Active, so alerts fire and resolve on their own.
type DemoOptions struct {
	Enabled   bool
	Interval  time.Duration
	Active    time.Duration
	Scenarios []string
}

// Options configures a Simulator.
type Options struct {
	// Host is the address the job listeners bind to.
	Host string
	// BasePort is the port of the first job; the others follow in JobNames order and the
	// scale targets after them. 0 picks a free port for every listener.
	BasePort int
	// ControlAddress is the listen address of the control API; empty disables it.
	ControlAddress string

	// Tick is the wall-clock interval between model updates.
	Tick time.Duration
	// Step is the simulated time each tick advances; 0 means Tick. Tests raise it to
	// compress minutes of traffic into a fraction of a second; against a real
	// Prometheus it must stay equal to Tick or rates come out scaled.
	Step time.Duration
	// Start is the simulated clock at creation; zero means time.Now().
	Start time.Time
	// Seed seeds the noise; 0 picks one from the clock.
	Seed uint64

	Fleet Fleet

	// Scenarios are activated at start, on their default targets.
	Scenarios []string
	Demo      DemoOptions

	// Series is the number of extra synthetic series served for benchmarks, spread over
	// SeriesTargets listeners.
	Series        int
	SeriesTargets int

	// Backfill, if Dir is set, writes Duration of history before the live run.
	Backfill BackfillOptions
}

// DefaultDemoScenarios is the demo rotation. It opens with canary-failure: its alert
// (any failure in the last 10 m) needs no hold time, so the first page comes within a
// minute of start.
var DefaultDemoScenarios = []string{
	"canary-failure",
	"connector-outage",
	"budget-overspend",
	"agent-queue-backlog",
	"database-down",
	"brute-force-401",
	"disk-full",
	"connector-latency",
	"vault-down",
}

// DefaultOptions returns the options the smm-simulator binary starts with.
func DefaultOptions() Options {
	return Options{
		Host:           "127.0.0.1",
		BasePort:       9101,
		ControlAddress: "127.0.0.1:9099",
		Tick:           time.Second,
		Fleet: Fleet{
			Connectors: 6,
			Agents:     6,
			Workspaces: 150,
			Campaigns:  2,
			Users:      50,
		},
		Demo: DemoOptions{
			Interval:  2 * time.Minute,
			Active:    90 * time.Second,
			Scenarios: DefaultDemoScenarios,
		},
		SeriesTargets: 10,
	}
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	var errs []error
	ports := len(JobNames)
	if o.Series > 0 {
		ports += o.SeriesTargets
	}
	if o.BasePort < 0 || o.BasePort+ports > 65536 {
		errs = append(errs, fmt.Errorf("base port %d: ports out of range", o.BasePort))
	}
	if o.Tick <= 0 {
		errs = append(errs, errors.New("tick must be positive"))
	}
	if o.Step < 0 {
		errs = append(errs, errors.New("step must not be negative"))
	}
	for _, f := range []struct {
		name string
		n    int
	}{
		{"connectors", o.Fleet.Connectors},
		{"agents", o.Fleet.Agents},
		{"workspaces", o.Fleet.Workspaces},
		{"campaigns", o.Fleet.Campaigns},
		{"users", o.Fleet.Users},
	} {
		if f.n < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, got %d", f.name, f.n))
		}
	}
	for _, name := range o.Scenarios {
		if _, ok := scenarioByName[name]; !ok {
			errs = append(errs, fmt.Errorf("unknown scenario %q", name))
		}
	}
	if o.Demo.Enabled {
		if o.Demo.Interval <= 0 || o.Demo.Active <= 0 || o.Demo.Active > o.Demo.Interval {
			errs = append(errs, fmt.Errorf("demo: need 0 < active (%s) <= interval (%s)", o.Demo.Active, o.Demo.Interval))
		}
		if len(o.Demo.Scenarios) == 0 {
			errs = append(errs, errors.New("demo: no scenarios"))
		}
		for _, name := range o.Demo.Scenarios {
			if _, ok := scenarioByName[name]; !ok {
				errs = append(errs, fmt.Errorf("demo: unknown scenario %q", name))
			}
		}
	}
	if o.Series < 0 {
		errs = append(errs, fmt.Errorf("series must not be negative, got %d", o.Series))
	}
	if o.Series > 0 && o.SeriesTargets < 1 {
		errs = append(errs, fmt.Errorf("series targets must be at least 1, got %d", o.SeriesTargets))
	}
	return errors.Join(errs...)
}
