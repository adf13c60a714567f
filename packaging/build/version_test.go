package build

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseVersion(t *testing.T) {
	date := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		raw, pkg, file string
	}{
		{"v1.2.3", "1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3", "1.2.3"},
		{"v1.2.3-dirty", "1.2.3+dirty", "1.2.3-dirty"},
		{"v1.2.3-rc.1", "1.2.3~rc.1", "1.2.3-rc.1"},
		{"v1.2.3-rc1-dev", "1.2.3~rc1.dev", "1.2.3-rc1-dev"},
		{"v1.2.3-4-gabcdef0", "1.2.3+4.gabcdef0", "1.2.3-4-gabcdef0"},
		{"v1.2.3-4-gabcdef0-dirty", "1.2.3+4.gabcdef0.dirty", "1.2.3-4-gabcdef0-dirty"},
		{"v1.2.3-rc.1-4-gabcdef0", "1.2.3~rc.1+4.gabcdef0", "1.2.3-rc.1-4-gabcdef0"},
		{"abcdef0", "0.0.0~git20250102030405.abcdef0", "abcdef0"},
		{"abcdef0-dirty", "0.0.0~git20250102030405.abcdef0.dirty", "abcdef0-dirty"},
		{"0.1.0-dev", "0.1.0~dev", "0.1.0-dev"},
		{"1.2.3+hotfix.1", "1.2.3+hotfix.1", "1.2.3-hotfix.1"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			v, err := ParseVersion(tc.raw, date)
			require.NoError(t, err)
			require.Equal(t, Version{Raw: tc.raw, Package: tc.pkg, File: tc.file}, v)
		})
	}
	for _, bad := range []string{"", "main", "v", "release/1.2", "1.2.3 beta"} {
		_, err := ParseVersion(bad, date)
		require.Error(t, err, "%q", bad)
	}
}

// TestVersionOrder checks with dpkg that the package versions sort as the
// builds were made: pre-release < release < later commits < dirty.
func TestVersionOrder(t *testing.T) {
	dpkg := lookTool(t, "dpkg")
	date := time.Unix(0, 0)
	order := []string{"0.1.0-dev", "v1.2.3-rc.1", "v1.2.3-rc.1-2-gabcdef0", "v1.2.3", "v1.2.3-4-gabcdef0", "v1.2.3-4-gabcdef0-dirty", "v1.2.3-5-g1234567", "v1.2.4-rc.1"}
	for i := 1; i < len(order); i++ {
		a, err := ParseVersion(order[i-1], date)
		require.NoError(t, err)
		b, err := ParseVersion(order[i], date)
		require.NoError(t, err)
		runTool(t, dpkg, "--compare-versions", a.Package, "lt", b.Package)
	}
}
