package alertmanager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// TestDamagedStateFilesDoNotStopStart: damaged silences, nflog and
// alerts.json are moved aside, New succeeds, and a critical alert names each.
func TestDamagedStateFilesDoNotStopStart(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"silences", "nflog", "alerts.json"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("\xff\xff\xff\xff damaged"), 0o600))
	}
	am, err := New(Options{DataDir: dir}, promslog.NewNopLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	defer am.Close()
	require.Len(t, am.Damaged(), 3)
	for _, d := range am.Damaged() {
		_, err := os.Stat(d.MovedTo)
		require.NoError(t, err, "kept aside: %s", d.MovedTo)
		ls := internalLabels(StateFileDamagedAlert)
		ls["file"] = model.LabelValue(d.Path)
		a, err := am.Alerts().Get(ls.Fingerprint())
		require.NoError(t, err, "alert for %s", d.Path)
		require.Equal(t, model.LabelValue("critical"), a.Labels["severity"])
		require.False(t, a.Resolved())
	}
}
