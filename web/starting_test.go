package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// TestServesHealthWhileStarting: between Start and Run (the TSDB replaying
// its WAL) both public listeners answer /-/healthy, say 503 to everything
// else, and need no credentials for that.
func TestServesHealthWhileStarting(t *testing.T) {
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		return l
	}
	s := NewServer(listen(), listen(), listen(), "", 0, promslog.NewNopLogger())
	require.NoError(t, s.Start())
	defer s.Shutdown(context.Background())

	for _, base := range []string{"http://" + s.Addr().String(), "http://" + s.AlertmanagerAddr().String()} {
		for path, want := range map[string]int{
			"/-/healthy":             http.StatusOK,
			"/-/ready":               http.StatusServiceUnavailable,
			"/api/v1/query?query=up": http.StatusServiceUnavailable,
			"/api/v2/alerts":         http.StatusServiceUnavailable,
			"/":                      http.StatusServiceUnavailable,
		} {
			resp, err := http.Get(base + path)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, want, resp.StatusCode, "%s%s: %s", base, path, body)
			if want == http.StatusServiceUnavailable {
				require.Contains(t, string(body), "starting")
			}
		}
	}
	require.Error(t, s.Run(), "Run before Activate is a programming error, not a hang")
}
