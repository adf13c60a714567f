package alertmanager

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	am.SetExternalLabels(nil) // the first configuration: raised at New, put now
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

// TestSilenceThatCannotBeWrittenIsRefused: a silence POST whose write fails
// after it was applied answers 507 and the silence is expired again; the
// next one is refused before it is applied.
func TestSilenceThatCannotBeWrittenIsRefused(t *testing.T) {
	dir := t.TempDir()
	am, err := New(Options{DataDir: dir}, promslog.NewNopLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	defer am.Close()
	// A non-empty directory where the snapshot goes: the rename fails.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "silences", "x"), 0o750))

	post := func() int {
		now := time.Now().UTC()
		body := fmt.Sprintf(`{"matchers":[{"name":"alertname","value":"X","isRegex":false,"isEqual":true}],"startsAt":%q,"endsAt":%q,"createdBy":"t","comment":"c"}`,
			now.Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
		req := httptest.NewRequest(http.MethodPost, "/api/v2/silences", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		am.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusInsufficientStorage, post(), "applied, not durable: refused")
	sils, _, err := am.Silences().Query(context.Background())
	require.NoError(t, err)
	require.Len(t, sils, 1)
	require.False(t, sils[0].EndsAt.AsTime().After(time.Now()), "rolled back: expired again")

	require.Equal(t, http.StatusInsufficientStorage, post(), "refused up front after a failed write")
	sils, _, err = am.Silences().Query(context.Background())
	require.NoError(t, err)
	require.Len(t, sils, 1, "not applied")
}
