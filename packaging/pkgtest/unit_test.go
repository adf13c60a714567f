package pkgtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSystemdUnit runs systemd-analyze verify and security on the unit as the
// .deb installs it: a root with the package's files (dpkg-deb -x), the
// host's systemd units (targets the unit refers to) and kill (ExecReload).
func TestSystemdUnit(t *testing.T) {
	root := t.TempDir()
	units := filepath.Join(root, "usr/lib/systemd/system")
	require.NoError(t, os.MkdirAll(units, 0o755))
	run(t, "cp", "-a", "/usr/lib/systemd/system/.", units+"/")
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(root, "bin")))
	run(t, "dpkg-deb", "-x", theDist.path(theDist.artefacts.Deb), root)
	copyPath(t, root, "/usr/bin/kill")
	unit := filepath.Join(units, "smm-appliance.service")

	out := run(t, "systemd-analyze", "verify", "--man=no", "--root="+root, unit)
	require.Empty(t, out, "systemd-analyze verify")

	out = run(t, "systemd-analyze", "security", "--offline=true", "--root="+root, "smm-appliance.service")
	m := regexp.MustCompile(`Overall exposure level for smm-appliance\.service: ([0-9.]+) (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	t.Logf("systemd-analyze security: exposure %s %s", m[1], m[2])
	level, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	require.LessOrEqual(t, level, 2.0, "exposure level\n%s", out)
}
