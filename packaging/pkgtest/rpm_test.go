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

// rpmCmd runs rpm on root's own database (Debian's rpm defaults to ~/.rpmdb
// and asks for --force-debian before it installs anything).
func rpmCmd(t *testing.T, root string, args ...string) string {
	t.Helper()
	return run(t, "rpm", rpmArgs(root, args...)...)
}

func rpmArgs(root string, args ...string) []string {
	out := []string{"--root=" + root, "--dbpath=/var/lib/rpm"}
	if len(args) > 0 && (args[0] == "--install" || args[0] == "--upgrade") {
		out = append(out, "--force-debian")
	}
	return append(out, args...)
}

// TestRPM queries the .rpm, installs it into a scratch root with an empty rpm
// database, verifies it, starts the appliance as the unit would, upgrades over
// an operator's edit and erases it.
func TestRPM(t *testing.T) {
	pkg := theDist.path(theDist.artefacts.RPM)

	// rpm -qpil: header and file list.
	info := run(t, "rpm", "-qpil", pkg)
	require.Contains(t, info, "Name        : smm-appliance")
	require.Contains(t, info, "Version     : "+theDist.version.Package)
	require.Contains(t, info, "/usr/bin/smm-appliance\n")
	require.Contains(t, info, "/usr/lib/systemd/system/smm-appliance.service\n")
	require.Contains(t, info, "/etc/sysconfig/smm-appliance\n")
	require.NotContains(t, info, "/etc/default/")
	requires := run(t, "rpm", "-qp", "--requires", pkg)
	for _, dep := range []string{"shadow-utils", "ca-certificates"} {
		require.Contains(t, requires, dep+"\n", "Requires")
	}
	require.Contains(t, run(t, "rpm", "-qp", "--recommends", pkg), "tzdata")
	scripts := run(t, "rpm", "-qp", "--scripts", pkg)
	for _, s := range []string{"preinstall scriptlet", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		require.Contains(t, scripts, s)
	}
	// Modes, owners and %config(noreplace) as rpm records them.
	files := run(t, "rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]", pkg)
	for _, want := range []string{
		"-rwxr-xr-x root:root  /usr/bin/smm-appliance",
		"-rw-r----- root:smm-appliance cn /etc/smm-appliance/prometheus.yml",
		"-rw-r----- root:smm-appliance cn /etc/smm-appliance/targets/node.yml",
		"-rw------- root:root cn /etc/sysconfig/smm-appliance",
		"drwxr-x--- root:smm-appliance  /etc/smm-appliance/rules",
		"drwxr-x--- smm-appliance:smm-appliance  /var/lib/smm-appliance",
	} {
		require.Contains(t, files, want+"\n")
	}

	root := newRoot(t, scriptTools...)
	rpmCmd(t, root, "--initdb")
	// The scratch root has no rpm-packaged shadow-utils or ca-certificates, so
	// rpm refuses the install for exactly the declared dependencies; the
	// install itself then runs with --nodeps.
	out, err := runErr("rpm", rpmArgs(root, "--install", "--test", pkg)...)
	require.Error(t, err)
	require.Contains(t, out, "shadow-utils is needed by smm-appliance")
	require.Contains(t, out, "ca-certificates is needed by smm-appliance")
	out = rpmCmd(t, root, "--install", "--nodeps", pkg)
	t.Logf("rpm --install:\n%s", out)

	require.Equal(t, "", strings.TrimSpace(rpmCmd(t, root, "--verify", "--nodeps", "smm-appliance")), "rpm -V after install")
	user := lookupUser(t, root, "smm-appliance")
	group := lookupGroup(t, root, "smm-appliance")
	require.True(t, user.presence && group.presence, "user and group created by %%pre")
	require.Less(t, user.id, 1000)
	require.Equal(t, "/usr/sbin/nologin", user.shell)
	checkMode(t, root, "/usr/bin/smm-appliance", 0o755, 0, 0)
	checkMode(t, root, build.GrafanaDir+"/dashboards/smm-connectors.json", 0o644, 0, 0)
	checkMode(t, root, build.GrafanaDir+"/provisioning/datasources/smm-appliance.yml", 0o644, 0, 0)
	checkMode(t, root, "/etc/sysconfig/smm-appliance", 0o600, 0, 0)
	checkMode(t, root, "/var/lib/smm-appliance", fs.ModeDir|0o750, user.id, group.id)
	checkConfigTree(t, root, group.id)
	// %post created the web config with a random admin password and printed
	// it.
	password := checkInstalledAuth(t, root, out, group.id)

	env := filepath.Join(root, "etc/sysconfig/smm-appliance")
	unit := filepath.Join(root, "usr/lib/systemd/system/smm-appliance.service")
	runAsUnit(t, root, unit, env, user.id, group.id, "pkgtest-rpm", password)

	// Upgrade over an edited prometheus.yml: %config(noreplace) keeps it and
	// writes the new default as .rpmnew; the unedited alertmanager.yml is
	// replaced.
	prom := filepath.Join(root, "etc/smm-appliance/prometheus.yml")
	appendEnv(t, prom, "# operator edit")
	webConfig := mustRead(t, filepath.Join(root, webConfigPath))
	passwordCopy := mustRead(t, filepath.Join(root, passwordFilePath))
	newV, _, newRPM := buildUpgrade(t)
	out = rpmCmd(t, root, "--upgrade", "--nodeps", newRPM)
	t.Logf("rpm --upgrade:\n%s", out)
	checkAuthKept(t, root, out, webConfig, passwordCopy)
	require.Contains(t, rpmCmd(t, root, "--query", "smm-appliance"), newV.Package)
	require.True(t, fileContains(t, prom, "# operator edit"), "operator's edit kept")
	require.False(t, fileContains(t, prom, upgradeMarker))
	require.True(t, fileContains(t, prom+".rpmnew", upgradeMarker), "new default beside it as .rpmnew")
	require.True(t, fileContains(t, filepath.Join(root, "etc/smm-appliance/alertmanager.yml"), upgradeMarker), "unedited config upgraded")
	// rpm -V (--nodeps: the same missing dependencies) reports the edited config file (and the environment file the test
	// wrote to), nothing else.
	verify, _ := runErr("rpm", rpmArgs(root, "--verify", "--nodeps", "smm-appliance")...)
	for _, line := range strings.Split(strings.TrimSpace(verify), "\n") {
		require.True(t, strings.HasSuffix(line, " c /etc/smm-appliance/prometheus.yml") || strings.HasSuffix(line, " c /etc/sysconfig/smm-appliance"),
			"rpm -V after upgrade: %q", line)
	}
	require.Equal(t, user, lookupUser(t, root, "smm-appliance"))

	runAsUnit(t, root, unit, env, user.id, group.id, "pkgtest-rpm", password)

	// Erase: program and unedited configuration gone, edited files saved as
	// .rpmsave, data and user kept.
	rpmCmd(t, root, "--erase", "smm-appliance")
	require.False(t, exists(filepath.Join(root, "usr/bin/smm-appliance")))
	require.False(t, exists(filepath.Join(root, "usr/lib/systemd/system/smm-appliance.service")))
	require.False(t, exists(filepath.Join(root, "etc/smm-appliance/alertmanager.yml")))
	require.True(t, fileContains(t, prom+".rpmsave", "# operator edit"), "edited config saved as .rpmsave")
	require.True(t, exists(filepath.Join(root, "var/lib/smm-appliance/tsdb")), "erase keeps the data")
	require.Equal(t, string(webConfig), string(mustRead(t, filepath.Join(root, webConfigPath))), "erase keeps the web config (not the package's)")
	require.True(t, exists(filepath.Join(root, passwordFilePath)), "and the password copy")
	require.Equal(t, user, lookupUser(t, root, "smm-appliance"), "erase keeps the user")
	_, err = os.Stat(filepath.Join(root, "etc/sysconfig/smm-appliance.rpmsave"))
	require.NoError(t, err, "edited environment file saved as .rpmsave")
}
