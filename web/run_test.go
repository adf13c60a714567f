package web

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// TestRunStopsOnOneDeadListener: when one listener fails, Run returns its
// error at once (the run group then stops the appliance) instead of
// waiting for the other servers.
func TestRunStopsOnOneDeadListener(t *testing.T) {
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		return l
	}
	prom, am, self := listen(), listen(), listen()
	s := NewServer(prom, am, self, "", 0, promslog.NewNopLogger())
	require.NoError(t, s.Start())
	defer s.Shutdown(context.Background())
	ok := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	s.active = [3]http.Handler{ok, ok, ok} // what Activate builds, minus the APIs

	errc := make(chan error, 1)
	go func() { errc <- s.Run() }()
	require.NoError(t, self.Close()) // the listener dies under its server
	select {
	case err := <-errc:
		require.ErrorContains(t, err, self.Addr().String())
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waiting with one listener dead")
	}
}
