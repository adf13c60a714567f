package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// simulatorBin is the smm-simulator under test: $SMM_SIMULATOR_BIN (make test
// builds it) or, when unset, one build made on first use and shared by every
// test of the run. TestMain belongs to harness_test.go, so that build is left
// in a temp dir of its own.
var simulatorBin struct {
	once sync.Once
	path string
	err  error
}

func simulatorBinary(t *testing.T) string {
	t.Helper()
	simulatorBin.once.Do(func() {
		if p := os.Getenv("SMM_SIMULATOR_BIN"); p != "" {
			simulatorBin.path = p
			return
		}
		dir, err := os.MkdirTemp("", "smm-e2e-simulator")
		if err != nil {
			simulatorBin.err = err
			return
		}
		simulatorBin.path = filepath.Join(dir, "smm-simulator")
		cmd := exec.Command("go", "build", "-o", simulatorBin.path, "../cmd/smm-simulator")
		if out, err := cmd.CombinedOutput(); err != nil {
			simulatorBin.err = fmt.Errorf("build smm-simulator: %w\n%s", err, out)
		}
	})
	require.NoError(t, simulatorBin.err)
	return simulatorBin.path
}

// simulatorProc is one running smm-simulator process.
type simulatorProc struct {
	cmd     *exec.Cmd
	control string // base URL of the control API
	logs    *syncBuffer
	exited  chan struct{}
}

// controlAddrRE finds the control API's address in the banner ("control  ADDR  /jobs …")
// or in the start log line (control=ADDR).
var controlAddrRE = regexp.MustCompile(`(?m)(?:^control\s+|\bcontrol=)(127\.0\.0\.1:[0-9]+)`)

// startSimulator runs the simulator on free ports (job listeners and control API) with
// args added, and waits for its control API.
func startSimulator(t *testing.T, args ...string) *simulatorProc {
	t.Helper()
	argv := append([]string{"--listen.base-port", "0", "--control.listen-address", "127.0.0.1:0"}, args...)
	cmd := exec.Command(simulatorBinary(t), argv...)
	s := &simulatorProc{cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("simulator logs:\n%s", tail(s.logs.String(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			t.Fatalf("simulator exited during start:\n%s", s.logs.String())
		default:
		}
		if m := controlAddrRE.FindStringSubmatch(s.logs.String()); m != nil {
			s.control = "http://" + m[1]
			if code, _ := httpGet(s.control + "/-/healthy"); code == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator control API not up after 30s:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// targetGroup is a file_sd target group, as GET /targets serves them.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// writeTargets writes the simulator's target groups whose job keep accepts (nil: all) to
// path as a file_sd JSON file, and returns how many targets it holds.
func (s *simulatorProc) writeTargets(t *testing.T, path string, keep func(job string) bool) int {
	t.Helper()
	var all, out []targetGroup
	getJSON(t, s.control+"/targets", &all)
	n := 0
	for _, g := range all {
		if keep == nil || keep(g.Labels["job"]) {
			out = append(out, g)
			n += len(g.Targets)
		}
	}
	require.NotZero(t, n, "no simulator targets selected from %+v", all)
	b, err := json.MarshalIndent(out, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return n
}

// simScenario is a scenario as GET /scenarios lists it.
type simScenario struct {
	Name          string   `json:"name"`
	Alerts        []string `json:"alerts"`
	Job           string   `json:"job"`
	TargetKind    string   `json:"target_kind"`
	TargetDown    bool     `json:"target_down"`
	DefaultTarget string   `json:"default_target"`
	Active        bool     `json:"active"`
	Target        string   `json:"target"`
}

func (s *simulatorProc) scenarios(t *testing.T) []simScenario {
	t.Helper()
	var out []simScenario
	getJSON(t, s.control+"/scenarios", &out)
	return out
}

// activate starts a scenario (on target, if not empty) and returns its status.
func (s *simulatorProc) activate(t *testing.T, name, target string) simScenario {
	t.Helper()
	u := s.control + "/scenario/" + name
	if target != "" {
		u += "?target=" + target
	}
	code, body := doRequest(t, http.MethodPost, u)
	require.Equal(t, http.StatusOK, code, "POST %s: %s", u, body)
	var st simScenario
	require.NoError(t, json.Unmarshal(body, &st))
	require.True(t, st.Active, "POST %s: %s", u, body)
	return st
}

// deactivate ends a scenario; ending an inactive one is not an error.
func (s *simulatorProc) deactivate(t *testing.T, name string) {
	t.Helper()
	code, body := doRequest(t, http.MethodDelete, s.control+"/scenario/"+name)
	require.Equal(t, http.StatusOK, code, "DELETE /scenario/%s: %s", name, body)
}

func doRequest(t *testing.T, method, u string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// ruleAlert is an alert in the Prometheus /api/v1/alerts answer, with its value.
type ruleAlert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
	Value    string            `json:"value"`
}

// alertWatcher polls the appliance's /api/v1/alerts for many concurrent subtests, so that
// a few dozen waiting scenarios cost two requests a second, not hundreds.
type alertWatcher struct {
	mu     sync.Mutex
	alerts []ruleAlert
	at     time.Time // when alerts was fetched
	err    error
	stop   chan struct{}
	done   chan struct{}
}

func watchAlerts(t *testing.T, a *appliance) *alertWatcher {
	w := &alertWatcher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			var resp struct {
				Data struct {
					Alerts []ruleAlert `json:"alerts"`
				} `json:"data"`
			}
			code, body := httpGet(a.web + "/api/v1/alerts")
			err := fmt.Errorf("GET /api/v1/alerts: status %d", code)
			if code == http.StatusOK {
				err = json.Unmarshal(body, &resp)
			}
			w.mu.Lock()
			if err == nil {
				w.alerts, w.at = resp.Data.Alerts, time.Now()
			}
			w.err = err
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(w.stop); <-w.done })
	return w
}

// alertMatcher names the alerts a check is about: alertname and labels, where a label
// wanted as "" must be absent.
type alertMatcher struct {
	alertname string
	labels    map[string]string
}

func (m alertMatcher) matches(al ruleAlert) bool {
	if al.Labels["alertname"] != m.alertname {
		return false
	}
	for k, v := range m.labels {
		if al.Labels[k] != v {
			return false
		}
	}
	return true
}

func (m alertMatcher) String() string {
	keys := make([]string, 0, len(m.labels))
	for k := range m.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(m.alertname + "{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s=%q", k, m.labels[k])
	}
	b.WriteString("}")
	return b.String()
}

// firing reports whether an alert m matches is firing, in a snapshot no older than
// since. fresh is false if there is no such snapshot yet.
func (w *alertWatcher) firing(m alertMatcher, since time.Time) (firing, fresh bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at.Before(since) {
		return false, false
	}
	for _, al := range w.alerts {
		if al.State == "firing" && m.matches(al) {
			return true, true
		}
	}
	return false, true
}

// describe lists the active alerts named like m's, for failure messages.
func (w *alertWatcher) describe(m alertMatcher) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, al := range w.alerts {
		if al.Labels["alertname"] == m.alertname {
			out = append(out, fmt.Sprintf("%s %v value=%s", al.State, al.Labels, al.Value))
		}
	}
	if w.err != nil {
		out = append(out, "last poll error: "+w.err.Error())
	}
	if len(out) == 0 {
		return "no active " + m.alertname + " alert"
	}
	return strings.Join(out, "\n")
}

// waitAll waits until every matcher is firing (want true) or none is (want false), in
// snapshots taken after the call, and returns how long that took.
func (w *alertWatcher) waitAll(t *testing.T, timeout time.Duration, want bool, ms []alertMatcher) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		done := true
		var missing alertMatcher
		for _, m := range ms {
			f, fresh := w.firing(m, start)
			if !fresh || f != want {
				done, missing = false, m
				break
			}
		}
		if done {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			state := "firing"
			if !want {
				state = "no longer firing"
			}
			t.Fatalf("timed out after %s waiting for %s to be %s; active alerts of that name:\n%s",
				timeout, missing, state, w.describe(missing))
		}
		time.Sleep(250 * time.Millisecond)
	}
}
