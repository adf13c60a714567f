package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// idleFlood opens n connections to the listeners (alternating), sends one
// GET /-/healthy on each and leaves it open, idle; it returns how many were
// answered. dial wraps the TCP connection (TLS or not).
func idleFlood(t *testing.T, addrs []string, n int, wrap func(net.Conn) net.Conn) int {
	t.Helper()
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
		ok    int
	)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	sem := make(chan struct{}, 50)
	for i := range n {
		addr := addrs[i%len(addrs)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			raw, err := net.DialTimeout("tcp", addr, 3*time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, raw)
			mu.Unlock()
			raw.SetDeadline(time.Now().Add(3 * time.Second))
			c := wrap(raw)
			if _, err := c.Write([]byte("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			mu.Lock()
			ok++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ok
}

func hostPort(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
}

// TestSecurityConnectionCap: with the process's file descriptors lowered
// to 400, 1,000 unauthenticated idle keep-alive connections (one
// GET /-/healthy each) neither exhaust them nor lock out health checks, and
// the data directory still gets descriptors (a TSDB snapshot succeeds).
func TestSecurityConnectionCap(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	a := startAppliance(t, copyConfig(t, "basic"), t.TempDir(), basicEnv(exp, hook), "--web.max-connections=100")
	pid := a.cmd.Process.Pid
	require.NoError(t, unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 400, Max: 400}, nil))

	ok := idleFlood(t, []string{hostPort(a.web), hostPort(a.am)}, 1000, func(c net.Conn) net.Conn { return c })
	t.Logf("%d of 1000 flood connections answered", ok)
	require.Greater(t, ok, 500, "the flood itself is served")

	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, u := range []string{a.web + "/-/healthy", a.am + "/-/healthy", a.web + "/-/ready"} {
		resp, err := cl.Get(u)
		require.NoError(t, err, "health check %s during the flood", u)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
	}
	resp, err := cl.Post(a.web+"/api/v1/admin/tsdb/snapshot", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "a snapshot needs descriptors for the data directory")

	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	t.Logf("appliance holds %d file descriptors", len(fds))
	require.NotContains(t, a.logs.String(), "too many open files")
	_, body := httpGet(a.web + "/metrics")
	require.True(t, metricAtLeast(string(body), `smm_appliance_web_connections_evicted_total{listeners="public"}`, 1), "idle connections were evicted")
}

// TestSecurityConnectionCapTLS: the same over TLS, where the server sees
// its connections wrapped in tls.Conn; idle TLS connections are evicted
// too, and an authenticated caller still gets in.
func TestSecurityConnectionCapTLS(t *testing.T) {
	a, cl, pw := secureAppliance(t, "--web.max-connections=100")
	require.NoError(t, unix.Prlimit(a.cmd.Process.Pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 400, Max: 400}, nil))
	tlsCfg := cl.c.Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.ServerName = "127.0.0.1"
	ok := idleFlood(t, []string{hostPort(a.web), hostPort(a.am)}, 1000, func(c net.Conn) net.Conn { return tls.Client(c, tlsCfg) })
	t.Logf("%d of 1000 TLS flood connections answered", ok)
	require.Greater(t, ok, 500, "the flood itself is served")
	fresh := secureClient{c: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true}}}
	for _, u := range []string{a.web + "/-/healthy", a.am + "/-/healthy"} {
		code, body := fresh.do(t, "GET", u, "", "", nil, nil)
		require.Equal(t, http.StatusOK, code, body)
	}
	code, body := fresh.do(t, "GET", a.web+"/api/v1/query?query=up", "admin1", pw["admin1"], nil, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.NotContains(t, a.logs.String(), "too many open files")
}

// TestSecurityWebConfigBroken: a web config with TLS that breaks or
// disappears while the appliance runs keeps the last good TLS
// configuration: new HTTPS connections still work, the error is logged
// once, and the metric and the status API show it.
func TestSecurityWebConfigBroken(t *testing.T) {
	a, cl, pw := secureAppliance(t)
	webCfg := ""
	for _, arg := range a.cmd.Args {
		if v, ok := strings.CutPrefix(arg, "--web.config.file="); ok {
			webCfg = v
		}
	}
	good, err := os.ReadFile(webCfg)
	require.NoError(t, err)
	fresh := secureClient{c: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cl.c.Transport.(*http.Transport).TLSClientConfig.Clone(), DisableKeepAlives: true,
	}}}
	status := func() map[string]any {
		code, body := fresh.do(t, "GET", a.web+"/api/v1/appliance/status", "admin1", pw["admin1"], nil, nil)
		require.Equal(t, http.StatusOK, code, body)
		var resp struct {
			Data map[string]any `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
		st, _ := resp.Data["webTLS"].(map[string]any)
		return st
	}
	metric := func(want string) {
		t.Helper()
		code, body := fresh.do(t, "GET", a.web+"/metrics", "admin1", pw["admin1"], nil, nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "smm_appliance_web_tls_config_last_reload_successful "+want)
	}
	// The users are read at the first authenticated request; from then on
	// they stay in force too.
	code, body := fresh.do(t, "GET", a.web+"/api/v1/query?query=up", "admin1", pw["admin1"], nil, nil)
	require.Equal(t, http.StatusOK, code, body)

	for i, broken := range []func(){
		func() { require.NoError(t, os.WriteFile(webCfg, []byte("tls_server_config: [\n"), 0o600)) },
		func() { require.NoError(t, os.Remove(webCfg)) },
	} {
		broken()
		time.Sleep(1100 * time.Millisecond) // the TLS settings are re-read at most every second
		for range 20 {
			for _, u := range []string{a.web + "/-/healthy", a.am + "/-/healthy"} {
				code, body := fresh.do(t, "GET", u, "", "", nil, nil)
				require.Equal(t, http.StatusOK, code, body)
			}
			code, body := fresh.do(t, "GET", a.web+"/api/v1/query?query=up", "admin1", pw["admin1"], nil, nil)
			require.Equal(t, http.StatusOK, code, "the last good users and TLS stay in force: %s", body)
		}
		st := status()
		require.Equal(t, false, st["lastReloadSuccessful"], "status API: %v", st)
		require.NotEmpty(t, st["lastError"])
		metric("0")
		require.Equal(t, i+1, strings.Count(a.logs.String(), "last good TLS configuration stays in force"), "logged once per distinct error")
		require.NotContains(t, a.logs.String(), "internal error")
	}
	require.NoError(t, os.WriteFile(filepath.Join(webCfg), good, 0o600))
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, true, status()["lastReloadSuccessful"])
	metric("1")
}
