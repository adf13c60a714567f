//go:build unix

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// demoJobPorts are the ports the embedded targets (configs/targets) name: the demo's
// simulator must listen there, so they cannot be chosen freely.
const demoFirstPort, demoLastPort = 9101, 9111

// TestDemo runs scripts/demo.sh (what `make run` runs) from a clean data directory and
// requires, within two minutes of its start, an SMM alert firing in the appliance and
// its notification delivered through the log fallback receiver (no secrets are set).
func TestDemo(t *testing.T) {
	for p := demoFirstPort; p <= demoLastPort; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("the demo needs 127.0.0.1:%d-%d free (the embedded targets name them), but %d is busy: %v",
				demoFirstPort, demoLastPort, p, err)
		}
		l.Close()
	}

	binDir := demoBinDir(t)
	web, am, control := freePort(t), freePort(t), freePort(t)
	cmd := exec.Command("bash", "../scripts/demo.sh")
	cmd.Env = append(demoEnv(), "BIN="+binDir, "DATA="+t.TempDir(), "WEB="+web, "AM="+am, "CONTROL="+control)
	// Its own process group: demo.sh execs the appliance, and its EXIT trap (which would
	// stop the simulator) is gone with the exec, so the group is what stops both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("demo did not exit within 15s of SIGTERM")
		}
		deadline := time.Now().Add(15 * time.Second)
		for groupAlive(pgid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				t.Errorf("processes of the demo still running 15s after SIGTERM to its group (killed)")
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", tail(out.String(), 80))
		}
	})

	deadline := start.Add(2 * time.Minute)
	poll := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-exited:
				t.Fatalf("demo exited while waiting for %s", what)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 2 minutes of the demo's start", what)
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("%s after %s", what, time.Since(start).Round(time.Second))
	}

	// A firing SMM alert: a scenario's, not only the Watchdog.
	var firing []string
	poll("firing SMM_ alert", func() bool {
		var resp struct {
			Data struct {
				Alerts []ruleAlert `json:"alerts"`
			} `json:"data"`
		}
		code, body := httpGet("http://" + web + "/api/v1/alerts")
		if code != 200 || json.Unmarshal(body, &resp) != nil {
			return false
		}
		firing = firing[:0]
		for _, al := range resp.Data.Alerts {
			if name := al.Labels["alertname"]; al.State == "firing" && strings.HasPrefix(name, "SMM_") {
				firing = append(firing, name)
			}
		}
		return len(firing) > 0
	})

	// Its notification, logged by the fallback receiver.
	var line string
	poll("notification of "+strings.Join(firing, "/"), func() bool {
		for _, name := range firing {
			re := regexp.MustCompile(`(?m)^.*msg=notification .*status=firing alert=` + regexp.QuoteMeta(name) + ` .*$`)
			if line = re.FindString(out.String()); line != "" {
				return true
			}
		}
		return false
	})
	t.Logf("%s", line)
	require.Regexp(t, `receiver=\S+ status=firing alert=SMM_\S+ severity=(critical|warning) team=\S+`, line)

	// Acknowledging from the notification (the banner's hint): its link
	// opens the confirm page, whose button acknowledges.
	m := regexp.MustCompile(`ack_link="?([^"\s]+)`).FindStringSubmatch(line)
	require.NotNil(t, m, "the logged notification carries its Acknowledge link: %s", line)
	code, page := httpGet(m[1])
	require.Equal(t, http.StatusOK, code, "%s", page)
	action := formAction.FindStringSubmatch(string(page))
	require.NotNil(t, action, "%s", page)
	resp, err := http.PostForm("http://"+web+strings.ReplaceAll(action[1], "&amp;", "&"), url.Values{"reason": {"working_on_it"}, "by": {"demo"}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `id="ack-done"`)
}

// demoBinDir returns a directory holding smm-appliance and smm-simulator under test, as
// demo.sh's BIN expects.
func demoBinDir(t *testing.T) string {
	t.Helper()
	app, sim := binary, simulatorBinary(t)
	if filepath.Dir(app) == filepath.Dir(sim) && filepath.Base(app) == "smm-appliance" && filepath.Base(sim) == "smm-simulator" {
		abs, err := filepath.Abs(filepath.Dir(app))
		require.NoError(t, err)
		return abs
	}
	dir := t.TempDir()
	for name, src := range map[string]string{"smm-appliance": app, "smm-simulator": sim} {
		abs, err := filepath.Abs(src)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(abs, filepath.Join(dir, name)))
	}
	return dir
}

// demoEnv is the test's environment without the secrets of the shipped configuration,
// so that every notification goes to the log fallback as in a fresh install.
func demoEnv() []string {
	secrets := []string{"SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "PAGERDUTY_INTEGRATION_KEY", "SMTP_SMARTHOST", "SMTP_FROM",
		"SMTP_USERNAME", "SMTP_PASSWORD", "TEAMS_WEBHOOK_URL", "WATCHDOG_WEBHOOK_URL"}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, s := range secrets {
			keep = keep && name != s
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// groupAlive reports whether a process of group pgid is still running (zombies, which
// an init that does not reap may keep around, do not count).
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil { // no procfs: ask the kernel
		return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		f := strings.Fields(rest)
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
