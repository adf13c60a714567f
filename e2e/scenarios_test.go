package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scenarioCase is how TestScenarios drives one simulator scenario. The alerts it must
// raise are the simulator's own list (GET /scenarios); the case only aims it and names
// the labels that tell its alerts apart from those of scenarios running at the same time.
type scenarioCase struct {
	// target aims the scenario (?target=); empty takes the simulator's default.
	target string
	// labels are extra labels an alert must carry, per alertname ("" = label absent).
	labels map[string]map[string]string
	// exclusive names resources the scenario must have to itself (see scenarioLocks).
	exclusive []string
}

// lockAgentFailures is held by every scenario that raises SMM_AgentHighFailureRate:
// database-down and database-target-down make every agent fail, so they would keep
// agent-failures' alert firing (and it theirs) past its DELETE.
const lockAgentFailures = "agent-failure-rate"

// The two forms of the connectivity alerts: reported by the exporter (target_down absent)
// and "the target cannot be scraped" (target_down="true").
var (
	reportedForm   = map[string]string{"target_down": ""}
	targetDownForm = map[string]string{"target_down": "true"}
)

// scenarioCases has one entry per simulator scenario; TestScenarios fails if the simulator
// has a scenario this table lacks. Scenarios of one kind are aimed at different targets so
// that they can run at once.
var scenarioCases = map[string]scenarioCase{
	"connector-outage":       {target: "linkedin", labels: map[string]map[string]string{"SMM_ConnectorDown": reportedForm}},
	"connector-target-down":  {labels: map[string]map[string]string{"SMM_ConnectorDown": targetDownForm}},
	"connector-errors":       {target: "twitter"},
	"connector-latency":      {target: "facebook"},
	"connector-rate-limited": {target: "instagram"},
	"connector-token-expiry": {target: "tiktok", labels: map[string]map[string]string{"SMM_ConnectorTokenExpiry": {"account": "main"}}},
	"budget-threshold":       {target: "ws-001/campaign-1"},
	"budget-overspend":       {target: "ws-002/campaign-1"},
	"budget-burn-rate":       {target: "ws-003/campaign-1"},
	"budget-exhaustion":      {target: "ws-004/campaign-1"},
	"agent-failures":         {target: "research", exclusive: []string{lockAgentFailures}},
	"agent-latency":          {target: "creative"},
	"agent-queue-backlog":    {target: "legal"},
	"agent-memory-leak":      {},
	"simulation-failures":    {},
	"simulation-latency":     {},
	"simulation-exhaustion":  {},
	"canary-failure":         {target: "content-generator"},
	"canary-traffic":         {target: "engagement-predictor"},
	"canary-drift":           {target: "audience-segmenter"},
	"canary-quality":         {target: "content-generator"},
	"database-down": {exclusive: []string{lockAgentFailures},
		labels: map[string]map[string]string{"SMM_DatabaseConnectionFailure": reportedForm}},
	"database-target-down": {exclusive: []string{lockAgentFailures},
		labels: map[string]map[string]string{"SMM_DatabaseConnectionFailure": targetDownForm}},
	"redis-down":          {labels: map[string]map[string]string{"SMM_RedisConnectionFailure": reportedForm}},
	"redis-target-down":   {labels: map[string]map[string]string{"SMM_RedisConnectionFailure": targetDownForm}},
	"disk-full":           {target: "/var/lib/smm"},
	"memory-high":         {},
	"brute-force-401":     {},
	"suspicious-user":     {target: "user-007"},
	"vault-down":          {},
	"publishing-failures": {},
	"workspace-drop":      {},
	"license-expiry":      {target: "smm-analytics-addon"},
}

// targetLabels are the alert labels that name a scenario's target, by target kind.
func targetLabels(kind, target string) map[string]string {
	switch kind {
	case "connector", "agent", "deployment", "user", "mountpoint", "license":
		return map[string]string{kind: target}
	case "campaign":
		ws, c, _ := strings.Cut(target, "/")
		return map[string]string{"workspace": ws, "campaign": c}
	}
	return nil
}

// Rule transform of TestScenarios. The shipped rules are loaded unchanged except for time:
// every `for:` (and `keep_firing_for:`) becomes shortFor, and every range selector is
// mapped through shortWindows. Thresholds, aggregations and functions stay as shipped, so
// each expression still means what it says, over a shorter window (as promtool's unit
// tests would evaluate it with compressed time). The windows keep enough 1 s samples for
// the ratios and quantiles to be stable at the simulator's traffic (about 0.15 agent
// executions a second at night at the least), and are short enough that a scenario
// resolves within about a window after its DELETE.
const shortFor = "5s"

var shortWindows = map[string]string{
	"2m":  "20s", // suspicious user (rate per minute)
	"5m":  "30s", // connector errors, latency, rate limits; 401s; appliance self-checks
	"10m": "40s", // agent failures and latency, canary failures
	"15m": "1m",  // simulation latency
	"1h":  "1m",  // simulation failures, agents' memory growth, notification failures
	"3h":  "1m",  // TSDB failures
	"6h":  "1m",  // budget exhaustion pace
	"24h": "2m",  // publishing success, budget burn rate: 2m keeps the healthy ratio well clear of 95 %
}

var (
	forRE      = regexp.MustCompile(`(?m)^([ \t]+)(for|keep_firing_for):[ \t]*[0-9][0-9a-z]*`)
	rangeRE    = regexp.MustCompile(`\[([0-9]+[smhdwy])\]`)
	anyForRE   = regexp.MustCompile(`(?m)^\s+(?:for|keep_firing_for):\s*(\S+)`)
	subqueryRE = regexp.MustCompile(`\[[0-9]+[smhdwy]:`)
)

// shortenRules applies the rule transform to one rule file's text.
func shortenRules(src string) (string, error) {
	if subqueryRE.MatchString(src) {
		return "", fmt.Errorf("subquery %q: add it to the transform", subqueryRE.FindString(src))
	}
	var unknown []string
	out := rangeRE.ReplaceAllStringFunc(src, func(m string) string {
		w := rangeRE.FindStringSubmatch(m)[1]
		short, ok := shortWindows[w]
		if !ok {
			unknown = append(unknown, w)
			return m
		}
		return "[" + short + "]"
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("range windows %v have no short form in shortWindows", unknown)
	}
	out = forRE.ReplaceAllString(out, "${1}${2}: "+shortFor)
	for _, m := range anyForRE.FindAllStringSubmatch(out, -1) {
		if m[1] != shortFor {
			return "", fmt.Errorf("a `for` of %q is left unshortened", m[1])
		}
	}
	return out, nil
}

// shippedRulesShortened writes configs/rules/*.yml, transformed, into dir.
func shippedRulesShortened(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob("../configs/rules/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		short, err := shortenRules(string(b))
		require.NoError(t, err, f)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(short), 0o644))
	}
}

// scenarioLocks serialises scenarios that would disturb each other's alerts. Every
// scenario holds its job's lock shared, a target-down scenario holds it exclusively (its
// endpoint answers 503, so no other scenario of the job can be observed), and a scenario
// holds its case's exclusive locks exclusively. Locks are taken in name order.
type scenarioLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.RWMutex
}

func (l *scenarioLocks) get(name string) *sync.RWMutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = map[string]*sync.RWMutex{}
	}
	if l.locks[name] == nil {
		l.locks[name] = &sync.RWMutex{}
	}
	return l.locks[name]
}

// acquire takes the scenario's locks and returns their release.
func (l *scenarioLocks) acquire(sc simScenario, c scenarioCase) func() {
	want := map[string]bool{"job:" + sc.Job: sc.TargetDown} // name -> exclusive
	for _, x := range c.exclusive {
		want[x] = true
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	var release []func()
	for _, n := range names {
		rw := l.get(n)
		if want[n] {
			rw.Lock()
			release = append(release, rw.Unlock)
		} else {
			rw.RLock()
			release = append(release, rw.RUnlock)
		}
	}
	return func() {
		for i := len(release) - 1; i >= 0; i-- {
			release[i]()
		}
	}
}

// TestScenarios drives every simulator scenario through the real binaries: the appliance
// scrapes smm-simulator at 1 s and evaluates the shipped rules (time-shortened, see
// shortenRules) every second. For each scenario: none of its alerts is firing, POST
// /scenario/<name> makes every alert the simulator lists for it fire in the appliance's
// /api/v1/alerts (on the scenario's target), and DELETE makes them stop firing.
// Scenarios run concurrently unless they touch the same signals (scenarioLocks).
func TestScenarios(t *testing.T) {
	start := time.Now()
	sim := startSimulator(t, "--tick", "1s")
	cfg := copyConfig(t, "scenarios")
	nTargets := sim.writeTargets(t, filepath.Join(cfg, "targets", "simulator.json"), nil)
	shippedRulesShortened(t, filepath.Join(cfg, "rules"))
	a := startAppliance(t, cfg, t.TempDir(), nil)

	scenarios := sim.scenarios(t)
	var names []string
	for _, sc := range scenarios {
		names = append(names, sc.Name)
		require.Contains(t, scenarioCases, sc.Name, "simulator scenario %s has no case in scenarioCases", sc.Name)
		require.NotEmpty(t, sc.Alerts, "scenario %s lists no alerts", sc.Name)
		require.False(t, sc.Active, "scenario %s active at start", sc.Name)
	}
	for name := range scenarioCases {
		require.Contains(t, names, name, "scenarioCases has %s, the simulator does not", name)
	}

	// Every simulator target scraped, with a few samples, before any scenario starts.
	waitFor(t, 60*time.Second, "every simulator target up", func() bool {
		r := query(t, a, `count(up{job!="smm-appliance"} == 1)`, time.Time{})
		return len(r) == 1 && r[0].Value[1] == strconv.Itoa(nTargets)
	})
	time.Sleep(3 * time.Second)
	t.Logf("appliance and simulator ready after %s", time.Since(start).Round(time.Second))

	w := watchAlerts(t, a)
	var locks scenarioLocks
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		c := scenarioCases[sc.Name]
		wg.Go(func() {
			// t.Run from many goroutines: every scenario runs at once, unbounded by
			// -parallel; scenarioLocks orders the ones that conflict.
			t.Run(sc.Name, func(t *testing.T) {
				release := locks.acquire(sc, c)
				defer release()
				runScenario(t, sim, w, sc, c)
			})
		})
	}
	wg.Wait()
	t.Logf("%d scenarios in %s", len(scenarios), time.Since(start).Round(time.Second))
}

func runScenario(t *testing.T, sim *simulatorProc, w *alertWatcher, sc simScenario, c scenarioCase) {
	target := c.target
	if target == "" {
		target = sc.DefaultTarget
	}
	var ms []alertMatcher
	for _, name := range sc.Alerts {
		m := alertMatcher{alertname: name, labels: map[string]string{}}
		for k, v := range targetLabels(sc.TargetKind, target) {
			m.labels[k] = v
		}
		for k, v := range c.labels[name] {
			m.labels[k] = v
		}
		ms = append(ms, m)
	}

	// Quiet before: whatever fires next is the scenario's doing.
	w.waitAll(t, 2*time.Minute, false, ms)

	var aim string
	if sc.TargetKind != "" {
		aim = target
	}
	st := sim.activate(t, sc.Name, aim)
	require.Equal(t, target, st.Target)
	deactivated := false
	defer func() {
		if !deactivated { // failed while active: end it for the scenarios that follow
			req, _ := http.NewRequest(http.MethodDelete, sim.control+"/scenario/"+sc.Name, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	fired := w.waitAll(t, 2*time.Minute, true, ms)

	sim.deactivate(t, sc.Name)
	deactivated = true
	resolved := w.waitAll(t, 3*time.Minute, false, ms)
	t.Logf("%v: firing %s after POST, resolved %s after DELETE", ms, fired.Round(time.Second), resolved.Round(time.Second))
}
