// Package e2e starts the real smm-appliance binary against real exporters,
// webhook receivers and upstream clients (promtool, amtool).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binary is the appliance under test: $SMM_APPLIANCE_BIN (make test builds
// it once for all packages) or a build made here.
var binary string

func TestMain(m *testing.M) {
	binary = os.Getenv("SMM_APPLIANCE_BIN")
	var tmp string
	if binary == "" {
		var err error
		tmp, err = os.MkdirTemp("", "smm-e2e-bin")
		if err != nil {
			panic(err)
		}
		binary = filepath.Join(tmp, "smm-appliance")
		cmd := exec.Command("go", "build", "-o", binary, "../cmd/smm-appliance")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build smm-appliance:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// appliance is one running smm-appliance process.
type appliance struct {
	t        *testing.T
	cmd      *exec.Cmd
	web, am  string // base URLs
	dataDir  string
	logs     *syncBuffer
	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// startAppliance runs the binary on configDir and dataDir with env added to
// the environment, and waits for /-/ready.
func startAppliance(t *testing.T, configDir, dataDir string, env map[string]string, args ...string) *appliance {
	t.Helper()
	return startApplianceReady(t, configDir, dataDir, env, func(a *appliance) bool {
		code, _ := httpGet(a.web + "/-/ready")
		return code == http.StatusOK
	}, args...)
}

// startApplianceReady is startAppliance with its own readiness probe, for
// appliances behind TLS and passwords; URLs use https when a web config
// file is given.
func startApplianceReady(t *testing.T, configDir, dataDir string, env map[string]string, ready func(*appliance) bool, args ...string) *appliance {
	t.Helper()
	scheme := "http://"
	for _, a := range args {
		if strings.HasPrefix(a, "--web.config.file") {
			scheme = "https://"
		}
	}
	webAddr, amAddr := freePort(t), freePort(t)
	argv := append([]string{
		"--storage.path", dataDir,
		"--web.listen-address", webAddr,
		"--alertmanager.listen-address", amAddr,
		"--log.level", "debug",
	}, args...)
	if configDir != "" {
		argv = append(argv, "--config.dir", configDir)
	}
	cmd := exec.Command(binary, argv...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	a := &appliance{t: t, cmd: cmd, web: scheme + webAddr, am: scheme + amAddr, dataDir: dataDir, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = a.logs, a.logs
	require.NoError(t, cmd.Start())
	go func() { a.exitErr = cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			t.Logf("appliance logs:\n%s", tail(a.logs.String(), 80))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-a.exited:
			t.Fatalf("appliance exited during start: %v\n%s", a.exitErr, a.logs.String())
		default:
		}
		if ready(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("appliance not ready after 30s\n%s", a.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// kill sends SIGKILL: no shutdown code runs, as in a crash.
func (a *appliance) kill() {
	a.stopOnce.Do(func() {
		_ = a.cmd.Process.Signal(syscall.SIGKILL)
		<-a.exited
	})
}

// stop sends SIGTERM and requires a clean exit within 10 s.
func (a *appliance) stop() {
	a.t.Helper()
	a.stopOnce.Do(func() {
		start := time.Now()
		require.NoError(a.t, a.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			a.t.Fatalf("appliance did not stop within 10s of SIGTERM")
		}
		require.NoError(a.t, a.exitErr, "exit status after SIGTERM")
		a.t.Logf("stopped in %s", time.Since(start))
	})
}

func httpGet(u string) (int, []byte) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func getJSON(t *testing.T, u string, into any) {
	t.Helper()
	code, body := httpGet(u)
	require.Equal(t, http.StatusOK, code, "GET %s: %s", u, body)
	require.NoError(t, json.Unmarshal(body, into), "GET %s: %s", u, body)
}

func postJSON(t *testing.T, u string, v any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// exporter is a scrape target whose metric values the test sets.
type exporter struct {
	srv    *httptest.Server
	values sync.Map // name -> *atomic.Int64
}

func newExporter(t *testing.T) *exporter {
	e := &exporter{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		e.values.Range(func(k, v any) bool {
			fmt.Fprintf(w, "# TYPE %s gauge\n%s %d\n", k, k, v.(*atomic.Int64).Load())
			return true
		})
	}))
	t.Cleanup(e.srv.Close)
	e.set("e2e_value", 0)
	e.set("e2e_second", 0)
	return e
}

func (e *exporter) set(name string, v int64) {
	n, _ := e.values.LoadOrStore(name, &atomic.Int64{})
	n.(*atomic.Int64).Store(v)
}

func (e *exporter) addr() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// notification is the Alertmanager webhook payload.
type notification struct {
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// webhook is a real HTTP receiver standing in for a notification target.
type webhook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notification
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var n notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.got = append(w.got, n)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// matching returns the notifications for alertname with status.
func (w *webhook) matching(alertname, status string) []notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []notification
	for _, n := range w.got {
		if n.GroupLabels["alertname"] == alertname && n.Status == status {
			out = append(out, n)
		}
	}
	return out
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// copyConfig copies a testdata config directory to a fresh temp dir so a
// test can edit it.
func copyConfig(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", name)
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

// basicEnv is the environment the basic config's ${VAR}s expect.
func basicEnv(e *exporter, w *webhook) map[string]string {
	return map[string]string{
		"E2E_EXPORTER":        e.addr(),
		"E2E_WEBHOOK_URL":     w.srv.URL + "/hook",
		"E2E_SCRAPE_PASSWORD": "scrape-secret-marker-7f3a",
		"E2E_SLACK_URL":       "https://hooks.slack.example/services/slack-secret-marker-91c2",
	}
}

// promAlert is an alert in the Prometheus /api/v1/alerts answer.
type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func promAlertState(t *testing.T, a *appliance, alertname string) string {
	var resp struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/alerts", &resp)
	for _, al := range resp.Data.Alerts {
		if al.Labels["alertname"] == alertname {
			return al.State
		}
	}
	return ""
}

// query runs an instant PromQL query and returns the vector.
func query(t *testing.T, a *appliance, q string, at time.Time) []struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
} {
	t.Helper()
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	u := a.web + "/api/v1/query?query=" + url.QueryEscape(q)
	if !at.IsZero() {
		u += fmt.Sprintf("&time=%.3f", float64(at.UnixMilli())/1000)
	}
	getJSON(t, u, &resp)
	return resp.Data.Result
}

var _ = context.Background
