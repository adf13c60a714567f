package appliance

import (
	"archive/tar"
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func bundle(t *testing.T, files map[string]string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, c := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(c))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return bytes.NewReader(buf.Bytes())
}

const (
	ruleA = "groups:\n- name: a\n  rules:\n  - record: test:a\n    expr: vector(1)\n"
	ruleB = "groups:\n- name: b\n  rules:\n  - record: test:b\n    expr: vector(1)\n"
)

// TestDeployRolledBackWhenNotReady: a bundle that applies but after which
// the appliance does not become ready again within the timeout is rolled
// back by the same reload path, and reported; the version in force stays.
func TestDeployRolledBackWhenNotReady(t *testing.T) {
	ta := newTestAppliance(t, nil)
	ta.waitReady(t)
	v := ta.versions
	stuck := true
	v.readyTimeout = 300 * time.Millisecond
	v.ready = func() []string {
		if stuck {
			return []string{"test part"}
		}
		return ta.notReady()
	}
	files := map[string]string{"prometheus.yml": testPrometheusYML, "rules/a.yml": ruleA, "rules/b.yml": ruleB}
	code, res := v.Deploy(context.Background(), "tester", bundle(t, files), false)
	require.Equal(t, http.StatusInternalServerError, code, res.Error)
	require.Equal(t, "rolled_back", res.Result)
	require.Contains(t, res.Error, "waiting for [test part]")
	require.Equal(t, 2, res.Version)
	require.Equal(t, 1, res.InForce)
	require.Equal(t, []string{"a"}, ta.ruleGroups(), "the previous configuration is back")
	require.Equal(t, ta.opts.ConfigDir, ta.reloads.Sources().Dir, "and so is --config.dir")

	stuck = false
	code, res = v.Deploy(context.Background(), "tester", bundle(t, files), false)
	require.Equal(t, http.StatusOK, code, res.Error)
	require.Equal(t, 3, res.Version)
	require.Equal(t, []string{"a", "b"}, ta.ruleGroups())
	code, res = v.Rollback("tester", 1)
	require.Equal(t, http.StatusOK, code, res.Error)
	require.Equal(t, 4, res.Version)
	require.Equal(t, []string{"a"}, ta.ruleGroups())
	code, _ = v.Rollback("tester", 99)
	require.Equal(t, http.StatusNotFound, code)
}
