package audit

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRotationKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 2000, 2)
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, l.Write(Entry{Event: "ack", User: fmt.Sprintf("u%03d", i)}))
	}
	got, err := l.Recent(5, "ack")
	require.NoError(t, err)
	require.Len(t, got, 5)
	require.Equal(t, "u199", got[0].User)
	all, err := l.Recent(1000, "")
	require.NoError(t, err)
	require.Less(t, len(all), 200, "old files beyond keep are deleted")
	require.NoError(t, l.Close())
}

func TestEventFor(t *testing.T) {
	cases := map[[2]string]string{
		{"POST", "/-/reload"}:                     "reload_request",
		{"POST", "/alertmanager/api/v2/silences"}: "silence_create_or_update",
		{"DELETE", "/api/v2/silence/abc"}:         "silence_expire",
		{"POST", "/api/v1/appliance/acks"}:        "ack",
		{"DELETE", "/api/v1/appliance/acks/0123"}: "unack",
		{"POST", "/api/v1/admin/tsdb/snapshot"}:   "tsdb_admin",
		{"GET", "/api/v1/status/config"}:          "admin_call",
	}
	for in, want := range cases {
		require.Equal(t, want, EventFor(in[0], in[1]), in)
	}
}
