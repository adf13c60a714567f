package pkgtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/smm-architect/smm-appliance/configs"
)

// unitService reads ExecStart and User from the [Service] section of a unit.
func unitService(t *testing.T, unitFile string) (execStart []string, user string) {
	t.Helper()
	data, err := os.ReadFile(unitFile)
	require.NoError(t, err)
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case strings.HasPrefix(line, "ExecStart="):
			execStart = strings.Fields(strings.TrimPrefix(line, "ExecStart="))
		case strings.HasPrefix(line, "User="):
			user = strings.TrimPrefix(line, "User=")
		}
	}
	require.NotEmpty(t, execStart, "no ExecStart in %s", unitFile)
	require.NotEmpty(t, user, "no User in %s", unitFile)
	return execStart, user
}

// readEnvFile parses a systemd EnvironmentFile: KEY=VALUE lines, comments,
// optional double or single quotes around the value.
func readEnvFile(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	env := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "env file line %q", line)
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env
}

// expandExecStart expands $VAR words the way systemd does for an unquoted
// reference: split into words, nothing if unset or empty.
func expandExecStart(argv []string, env map[string]string) []string {
	var out []string
	for _, a := range argv {
		if strings.HasPrefix(a, "$") && !strings.HasPrefix(a, "${") {
			out = append(out, strings.Fields(env[a[1:]])...)
			continue
		}
		out = append(out, a)
	}
	return out
}

// appendEnv adds lines to an environment file as an operator would.
func appendEnv(t *testing.T, file string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = io.WriteString(f, strings.Join(lines, "\n")+"\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// listenOpts are the flags that move both listeners to free loopback ports.
func listenOpts(t *testing.T) (web, am string, opts string) {
	web, am = freePort(t), freePort(t)
	return web, am, "--web.listen-address=" + web + " --alertmanager.listen-address=" + am
}

// running is an appliance started inside a root.
type running struct {
	cmd  *exec.Cmd
	web  string
	am   string
	logs *syncBuffer
	done chan struct{}
}

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

// startInRoot runs argv chrooted into root as uid:gid with env, and waits for
// /-/ready on web.
func startInRoot(t *testing.T, root string, uid, gid int, env map[string]string, web, am string, argv ...string) *running {
	t.Helper()
	args := append([]string{fmt.Sprintf("--userspec=%d:%d", uid, gid), root}, argv...)
	cmd := exec.Command("chroot", args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Dir = root
	r := &running{cmd: cmd, web: "http://" + web, am: "http://" + am, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(r.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := httpGet(r.web + "/-/ready"); code == http.StatusOK {
			break
		}
		select {
		case <-r.done:
			t.Fatalf("appliance exited before ready: %v\n%s", cmd.ProcessState, tail(r.logs.String(), 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("appliance not ready after 60s\n%s", tail(r.logs.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, body := httpGet(r.am + "/-/ready"); code != http.StatusOK {
		t.Fatalf("alertmanager listener not ready: %d %s", code, body)
	}
	return r
}

// stop sends SIGTERM and waits for a clean exit.
func (r *running) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.kill()
		t.Fatalf("appliance did not stop within 30s\n%s", tail(r.logs.String(), 30))
	}
	require.True(t, r.cmd.ProcessState.Success(), "exit: %v\n%s", r.cmd.ProcessState, tail(r.logs.String(), 30))
}

func (r *running) kill() {
	select {
	case <-r.done:
	default:
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func httpGet(u string) (int, []byte) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// getJSON reads u as the installation's admin.
func getJSON(t *testing.T, u, password string, into any) {
	t.Helper()
	code, body := httpDo("GET", u, "admin", password)
	require.Equal(t, http.StatusOK, code, "GET %s: %s", u, body)
	require.NoError(t, json.Unmarshal(body, into), "GET %s", u)
}

// smmRuleGroups are the rule groups the shipped rule files define.
func smmRuleGroups(t *testing.T) []string {
	t.Helper()
	var groups []string
	files, err := fs.Glob(configs.FS, "rules/*.yml")
	require.NoError(t, err)
	for _, f := range files {
		data, err := fs.ReadFile(configs.FS, f)
		require.NoError(t, err)
		var rf struct {
			Groups []struct {
				Name string `yaml:"name"`
			} `yaml:"groups"`
		}
		require.NoError(t, yaml.Unmarshal(data, &rf), f)
		for _, g := range rf.Groups {
			groups = append(groups, g.Name)
		}
	}
	sort.Strings(groups)
	require.NotEmpty(t, groups)
	return groups
}

// checkRunning asserts what a fresh installation serves, with the generated
// admin password: authentication on both listeners (checkAuth), the SMM rule
// groups, the environment label from the environment file, and no scrape
// target but the appliance itself (the shipped target files are empty).
// runAsUnit starts the installed appliance the way its systemd unit does —
// the unit's user, ExecStart and environment plus the environment file, with
// SMM_ENVIRONMENT and listen addresses appended to that file — checks it
// serves with the generated admin password, and stops it. It returns the
// service's environment and the unit's User= for further checks.
func runAsUnit(t *testing.T, root, unit, envFile string, uid, gid int, environment, password string) (svcEnv map[string]string, unitUser string) {
	t.Helper()
	web, am, opts := listenOpts(t)
	appendEnv(t, envFile, "SMM_ENVIRONMENT="+environment, "SMM_APPLIANCE_OPTS="+opts)
	execStart, unitUser := unitService(t, unit)
	svcEnv = serviceEnv(t, unit, envFile)
	r := startInRoot(t, root, uid, gid, svcEnv, web, am, expandExecStart(execStart, svcEnv)...)
	checkRunning(t, r, environment, password)
	r.stop(t)
	return svcEnv, unitUser
}

func checkRunning(t *testing.T, r *running, environment, password string) {
	t.Helper()
	checkAuth(t, r, password)
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []any  `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, r.web+"/api/v1/rules", password, &rules)
	var got []string
	for _, g := range rules.Data.Groups {
		if strings.HasPrefix(g.Name, "smm_") {
			got = append(got, g.Name)
			require.NotEmpty(t, g.Rules, "group %s", g.Name)
		}
	}
	sort.Strings(got)
	require.Equal(t, smmRuleGroups(t), got, "SMM rule groups loaded")

	var cfg struct {
		Data struct {
			YAML string `json:"yaml"`
		} `json:"data"`
	}
	getJSON(t, r.web+"/api/v1/status/config", password, &cfg)
	require.Contains(t, cfg.Data.YAML, "environment: "+environment, "environment label from the environment file")

	var targets struct {
		Data struct {
			ActiveTargets []struct {
				ScrapePool string `json:"scrapePool"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, r.web+"/api/v1/targets", password, &targets)
	for _, tg := range targets.Data.ActiveTargets {
		require.Equal(t, "smm-appliance", tg.ScrapePool, "only the appliance scrapes itself on a fresh install")
	}
}

// checkMode asserts mode and numeric owner of a path inside root.
func checkMode(t *testing.T, root, p string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(root, p))
	require.NoError(t, err, p)
	require.Equal(t, mode.String(), (fi.Mode() & (fs.ModePerm | fs.ModeDir | fs.ModeSticky)).String(), "mode of %s", p)
	st := fi.Sys().(*syscall.Stat_t)
	require.Equal(t, []int{uid, gid}, []int{int(st.Uid), int(st.Gid)}, "owner of %s", p)
}

// checkConfigTree asserts the installed configuration directory: every
// shipped file root:smm-appliance 0640 in 0750 directories, target files
// that are empty lists.
func checkConfigTree(t *testing.T, root string, gid int) {
	t.Helper()
	checkMode(t, root, "/etc/smm-appliance", fs.ModeDir|0o750, 0, gid)
	for _, d := range []string{"rules", "templates", "targets"} {
		checkMode(t, root, path.Join("/etc/smm-appliance", d), fs.ModeDir|0o750, 0, gid)
	}
	n := 0
	require.NoError(t, fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		checkMode(t, root, path.Join("/etc/smm-appliance", p), 0o640, 0, gid)
		n++
		if path.Dir(p) == "targets" {
			data, err := os.ReadFile(filepath.Join(root, "etc/smm-appliance", p))
			require.NoError(t, err)
			var list []any
			require.NoError(t, yaml.Unmarshal(data, &list), p)
			require.Empty(t, list, "%s ships without targets", p)
			require.Contains(t, string(data), "#   - targets:", "%s keeps the demo as a commented example", p)
		}
		return nil
	}))
	require.Greater(t, n, 20)
}

func fileContains(t *testing.T, file, substr string) bool {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	return strings.Contains(string(data), substr)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
