package pkgtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/packaging/build"
)

// newDebRoot is a scratch root with an empty dpkg database that knows the
// host's passwd and ca-certificates packages as installed, so that dpkg checks
// the package's real Pre-Depends and Depends instead of being told to ignore
// them.
func newDebRoot(t *testing.T) string {
	t.Helper()
	root := newRoot(t, scriptTools...)
	for _, d := range []string{"info", "updates", "triggers", "alternatives"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/dpkg", d), 0o755))
	}
	status := run(t, "dpkg-query", "-s", "passwd", "ca-certificates")
	require.NoError(t, os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(status), 0o644))
	for _, p := range []string{"passwd", "ca-certificates"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, "var/lib/dpkg/info", p+".list"), nil, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "var/lib/dpkg/available"), nil, 0o644))
	return root
}

func dpkg(t *testing.T, root string, args ...string) string {
	t.Helper()
	return run(t, "dpkg", append([]string{"--root=" + root}, args...)...)
}

// TestDeb installs the .deb into a scratch root, starts the appliance as the
// unit would, upgrades to a newer build over an operator's edit, removes and
// purges it.
func TestDeb(t *testing.T) {
	deb := theDist.path(theDist.artefacts.Deb)

	// The metadata an operator's apt sees.
	fields := run(t, "dpkg-deb", "-f", deb, "Package", "Version", "Pre-Depends", "Depends", "Recommends", "Suggests")
	require.Contains(t, fields, "Version: "+theDist.version.Package)
	require.Contains(t, fields, "Pre-Depends: passwd")
	require.Contains(t, fields, "Depends: ca-certificates")
	conffiles := run(t, "sh", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar -xOf - ./conffiles", "sh", deb)
	for _, f := range []string{"/etc/default/smm-appliance", "/etc/smm-appliance/prometheus.yml", "/etc/smm-appliance/alertmanager.yml", "/etc/smm-appliance/targets/node.yml"} {
		require.Contains(t, conffiles, f+"\n", "conffile")
	}

	root := newDebRoot(t)
	out := dpkg(t, root, "--install", deb)
	t.Logf("dpkg --install:\n%s", out)

	// The user, idempotently created by preinst: a system account without a
	// shell, home in the state directory.
	user := lookupUser(t, root, "smm-appliance")
	group := lookupGroup(t, root, "smm-appliance")
	require.True(t, user.presence && group.presence, "user and group created")
	require.Less(t, user.id, 1000, "system uid")
	require.Equal(t, group.id, user.gid)
	require.Equal(t, "/var/lib/smm-appliance", user.home)
	require.Equal(t, "/usr/sbin/nologin", user.shell)

	// Files and modes.
	checkMode(t, root, "/usr/bin/smm-appliance", 0o755, 0, 0)
	checkMode(t, root, build.GrafanaDir+"/dashboards/smm-connectors.json", 0o644, 0, 0)
	checkMode(t, root, build.GrafanaDir+"/provisioning/datasources/smm-appliance.yml", 0o644, 0, 0)
	checkMode(t, root, "/usr/lib/systemd/system/smm-appliance.service", 0o644, 0, 0)
	checkMode(t, root, "/etc/default/smm-appliance", 0o600, 0, 0)
	checkMode(t, root, "/var/lib/smm-appliance", fs.ModeDir|0o750, user.id, group.id)
	checkConfigTree(t, root, group.id)
	require.False(t, exists(filepath.Join(root, "etc/sysconfig")), "no rpm paths in the deb")
	// postinst created the web config with a random admin password and
	// printed it.
	password := checkInstalledAuth(t, root, out, group.id)

	// Started the way the unit starts it, with the unit's environment and
	// the environment file.
	env := filepath.Join(root, "etc/default/smm-appliance")
	unit := filepath.Join(root, "usr/lib/systemd/system/smm-appliance.service")
	svcEnv, unitUser := runAsUnit(t, root, unit, env, user.id, group.id, "pkgtest-deb", password)
	require.Equal(t, "smm-appliance", unitUser)
	require.Equal(t, "/etc/smm-appliance/web.yml", svcEnv["SMM_WEB_CONFIG_FILE"], "the unit points at the web config")
	require.True(t, exists(filepath.Join(root, "var/lib/smm-appliance/tsdb")), "data written to the state directory")

	// The operator edits prometheus.yml and adds a target file.
	appendEnv(t, filepath.Join(root, "etc/smm-appliance/prometheus.yml"), "# operator edit")
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/smm-appliance/targets/extra.yml"), []byte("[]\n"), 0o640))

	// Upgrade: a newer build whose default prometheus.yml changed too, so dpkg
	// would ask; --force-confold keeps the operator's (what apt's
	// -o Dpkg::Options::=--force-confold does). alertmanager.yml was not edited
	// and is replaced silently.
	webConfig := mustRead(t, filepath.Join(root, webConfigPath))
	passwordCopy := mustRead(t, filepath.Join(root, passwordFilePath))
	newV, newDeb, _ := buildUpgrade(t)
	out = dpkg(t, root, "--force-confold", "--install", newDeb)
	t.Logf("dpkg --install (upgrade):\n%s", out)
	checkAuthKept(t, root, out, webConfig, passwordCopy)
	require.Contains(t, dpkg(t, root, "--status", "smm-appliance"), "Version: "+newV.Package)
	prom := filepath.Join(root, "etc/smm-appliance/prometheus.yml")
	require.True(t, fileContains(t, prom, "# operator edit"), "operator's edit kept")
	require.False(t, fileContains(t, prom, upgradeMarker), "new default not forced over the edit")
	require.True(t, fileContains(t, prom+".dpkg-dist", upgradeMarker), "new default beside it as .dpkg-dist")
	require.True(t, fileContains(t, filepath.Join(root, "etc/smm-appliance/alertmanager.yml"), upgradeMarker), "unedited conffile upgraded")
	require.Equal(t, user, lookupUser(t, root, "smm-appliance"), "user unchanged by the upgrade")
	checkConfigTree(t, root, group.id)

	// The upgraded installation starts with the edited configuration and the
	// data of the first run, started as the upgraded unit starts it.
	runAsUnit(t, root, unit, env, user.id, group.id, "pkgtest-deb", password)

	// An upgrade from a version that had no web config (here: the file
	// deleted, then the package configured again) creates one and prints
	// its password.
	require.NoError(t, os.Remove(filepath.Join(root, webConfigPath)))
	out = dpkg(t, root, "--force-confold", "--install", newDeb)
	newPassword := checkInstalledAuth(t, root, out, group.id)
	require.NotEqual(t, password, newPassword, "a new random password")

	// Remove: program gone, configuration and data kept.
	dpkg(t, root, "--remove", "smm-appliance")
	require.False(t, exists(filepath.Join(root, "usr/bin/smm-appliance")))
	require.False(t, exists(filepath.Join(root, "usr/lib/systemd/system/smm-appliance.service")))
	require.True(t, fileContains(t, prom, "# operator edit"), "remove keeps the configuration")
	require.True(t, exists(filepath.Join(root, "etc/default/smm-appliance")))
	require.True(t, exists(filepath.Join(root, webConfigPath)), "remove keeps the web config")
	require.True(t, exists(filepath.Join(root, "var/lib/smm-appliance/tsdb")), "remove keeps the data")

	// Purge: configuration gone (the operator's target file too), data and
	// user kept.
	dpkg(t, root, "--purge", "smm-appliance")
	require.False(t, exists(filepath.Join(root, "etc/smm-appliance")), "purge deletes /etc/smm-appliance")
	require.False(t, exists(filepath.Join(root, "etc/default/smm-appliance")), "purge deletes the environment file")
	require.True(t, exists(filepath.Join(root, "var/lib/smm-appliance/tsdb")), "purge keeps the data")
	require.Equal(t, user, lookupUser(t, root, "smm-appliance"), "purge keeps the user")
	require.True(t, lookupGroup(t, root, "smm-appliance").presence, "purge keeps the group")
	require.False(t, strings.Contains(dpkg(t, root, "--list"), "smm-appliance"), "package gone from the database")
}
