package web

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConnLimiterEvictsIdle: idle keep-alive connections beyond the cap do
// not lock out a new caller; the open connections stay at the cap.
func TestConnLimiterEvictsIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lim := newConnLimiter(8, "test")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }), ConnState: lim.setState}
	go srv.Serve(lim.listener(ln))
	t.Cleanup(func() { srv.Close() })

	var idle []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		idle = append(idle, c)
	}
	require.Eventually(t, func() bool { return len(lim.conns) <= 8 }, 2*time.Second, 10*time.Millisecond)
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + ln.Addr().String() + "/-/healthy")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lim.mtx.Lock()
	n := len(lim.conns)
	lim.mtx.Unlock()
	require.LessOrEqual(t, n, 8)
	require.Len(t, idle, 50)
}

// TestConnLimiterSlowHeaders: connections still sending their headers (a
// slow-loris client) are evictable; a connection whose handler runs is not.
func TestConnLimiterSlowHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lim := newConnLimiter(8, "test")
	block, started := make(chan struct{}), make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-block
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: h, ConnState: lim.setState}
	go srv.Serve(lim.listener(ln))
	t.Cleanup(func() { close(block); srv.Close() })

	busy, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer busy.Close()
	_, err = busy.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	<-started
	for range 50 {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write([]byte("GET / HTTP/1.1\r\nHo"))
		require.NoError(t, err)
	}
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + ln.Addr().String() + "/-/healthy")
	require.NoError(t, err)
	resp.Body.Close()
	lim.mtx.Lock()
	_, alive := func() (*limitedConn, bool) {
		for c := range lim.conns {
			if c.state == http.StateActive {
				return c, true
			}
		}
		return nil, false
	}()
	lim.mtx.Unlock()
	require.True(t, alive, "the connection in a handler was not evicted")
}

func TestFitConnections(t *testing.T) {
	n, ok := fitConnections(512, 1<<20)
	require.True(t, ok)
	require.Equal(t, 512, n)
	n, ok = fitConnections(512, 1024)
	require.False(t, ok)
	require.Equal(t, 1024-fdReserve-selfMaxConns, n)
	n, ok = fitConnections(512, 100)
	require.False(t, ok)
	require.Equal(t, minConns, n)
}

func writeTestCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
}

// TestTLSKeepsLastGood: a broken, deleted or TLS-less web config keeps the
// last good TLS configuration, logged once per distinct error.
func TestTLSKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, dir)
	p := filepath.Join(dir, "web.yml")
	good := []byte("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
	require.NoError(t, os.WriteFile(p, good, 0o600))
	var logs bytes.Buffer
	w, err := newTLSWatcher(p, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	now := time.Now()
	w.now = func() time.Time { return now }
	first := w.current()
	require.NotNil(t, first)
	require.True(t, w.status().LastReloadSuccessful)

	for _, broken := range []func(){
		func() { require.NoError(t, os.WriteFile(p, []byte("tls_server_config: [\n"), 0o600)) },
		func() { require.NoError(t, os.Remove(p)) },
		func() { require.NoError(t, os.WriteFile(p, []byte("basic_auth_users: {}\n"), 0o600)) },
		func() {
			require.NoError(t, os.WriteFile(p, good, 0o600))
			require.NoError(t, os.Remove(filepath.Join(dir, "tls.key")))
		},
	} {
		broken()
		logs.Reset()
		for range 5 {
			now = now.Add(2 * tlsRecheck)
			require.Same(t, first, w.current(), "the last good configuration stays")
		}
		require.Equal(t, 1, strings.Count(logs.String(), "level=ERROR"), logs.String())
		st := w.status()
		require.False(t, st.LastReloadSuccessful)
		require.NotEmpty(t, st.LastError)
	}
	writeTestCert(t, dir)
	now = now.Add(2 * tlsRecheck)
	require.NotSame(t, first, w.current())
	require.True(t, w.status().LastReloadSuccessful)

	// A handshake against the server config works with the last good one.
	require.NoError(t, os.Remove(p))
	now = now.Add(2 * tlsRecheck)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", w.serverConfig())
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, err)
	c.Close()
}
