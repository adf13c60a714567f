package pkgtest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/packaging/build"
)

// TestBundle unpacks the offline bundle into an empty directory, runs its
// install.sh into a scratch root without network (a new, empty network
// namespace), starts the appliance there with the generated admin password
// and runs install.sh again as an upgrade over an operator's edit.
func TestBundle(t *testing.T) {
	dir := t.TempDir()
	run(t, "tar", "-xzf", theDist.path(theDist.artefacts.Bundle), "-C", dir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "one top directory")
	top := filepath.Join(dir, build.BundleDir(theDist.version))
	for _, f := range []string{"install.sh", "bin/smm-appliance", "systemd/smm-appliance.service", "default/smm-appliance", "configs/prometheus.yml", "configs/rules", "configs/targets/node.yml", "grafana/dashboards/smm-connectors.json", "grafana/provisioning/dashboards/smm-appliance.yml", "SHA256SUMS"} {
		require.True(t, exists(filepath.Join(top, f)), "bundle has %s", f)
	}
	docs, err := os.ReadDir(filepath.Join(top, "docs"))
	require.NoError(t, err)
	require.Len(t, docs, len(theDist.opts.Docs))

	root := accountsRoot(t)
	out := installBundle(t, top, root)
	t.Logf("install.sh:\n%s", out)
	user := lookupUser(t, root, "smm-appliance")
	group := lookupGroup(t, root, "smm-appliance")
	require.True(t, user.presence && group.presence, "user and group added to the root's files")
	require.Equal(t, "/usr/sbin/nologin", user.shell)
	checkMode(t, root, "/usr/local/bin/smm-appliance", 0o755, 0, 0)
	checkMode(t, root, "/usr/local/share/smm-appliance/grafana/dashboards/smm-connectors.json", 0o644, 0, 0)
	require.True(t, fileContains(t, filepath.Join(root, "usr/local/share/smm-appliance/grafana/provisioning/dashboards/smm-appliance.yml"), "path: /usr/local/share/smm-appliance/grafana/dashboards"),
		"the Grafana provider reads the dashboards where install.sh put them")
	checkMode(t, root, "/etc/systemd/system/smm-appliance.service", 0o644, 0, 0)
	checkMode(t, root, "/etc/default/smm-appliance", 0o600, 0, 0)
	checkMode(t, root, "/var/lib/smm-appliance", fs.ModeDir|0o750, user.id, group.id)
	checkConfigTree(t, root, group.id)
	password := checkInstalledAuth(t, root, out, group.id)
	unit := filepath.Join(root, "etc/systemd/system/smm-appliance.service")
	require.True(t, fileContains(t, unit, "ExecStart=/usr/local/bin/smm-appliance --config.dir=/etc/smm-appliance"), "unit points at the installed binary")
	require.True(t, fileContains(t, unit, "Documentation=file:/usr/local/share/doc/smm-appliance/install.md"))

	env := filepath.Join(root, "etc/default/smm-appliance")
	runAsUnit(t, root, unit, env, user.id, group.id, "pkgtest-bundle", password)

	// Again, as an upgrade: the edit and the environment file are kept, the
	// default lands beside the edited file, the user is not duplicated.
	prom := filepath.Join(root, "etc/smm-appliance/prometheus.yml")
	appendEnv(t, prom, "# operator edit")
	webConfig := mustRead(t, filepath.Join(root, webConfigPath))
	passwordCopy := mustRead(t, filepath.Join(root, passwordFilePath))
	out = installBundle(t, top, root)
	require.Contains(t, out, "kept your /etc/smm-appliance/prometheus.yml")
	checkAuthKept(t, root, out, webConfig, passwordCopy)
	require.True(t, fileContains(t, prom, "# operator edit"))
	require.True(t, exists(prom+".new"))
	require.True(t, fileContains(t, env, "SMM_ENVIRONMENT=pkgtest-bundle"), "environment file kept")
	require.Equal(t, 1, strings.Count("\n"+string(mustRead(t, filepath.Join(root, "etc/passwd"))), "\nsmm-appliance:"), "one user")

	// A damaged bundle is refused before anything is installed.
	require.NoError(t, os.WriteFile(filepath.Join(top, "configs/alertmanager.yml"), []byte("damaged\n"), 0o644))
	fresh := accountsRoot(t)
	out, err = runErr("sh", filepath.Join(top, "install.sh"), "--root", fresh)
	require.Error(t, err)
	require.Contains(t, out, "does not match its SHA256SUMS")
	require.False(t, exists(filepath.Join(fresh, "usr")), "nothing installed")
}

// accountsRoot is an empty scratch root but for the account files install.sh
// adds the user to.
func accountsRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	for name, content := range map[string]string{
		"passwd":  "root:x:0:0:root:/root:/bin/sh\n",
		"group":   "root:x:0:\n",
		"shadow":  "root:*:19000:0:99999:7:::\n",
		"gshadow": "root:*::\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc", name), []byte(content), 0o640))
	}
	return root
}

// installBundle runs install.sh --root in a network namespace of its own,
// which has no interface but loopback (down): any network use would fail.
func installBundle(t *testing.T, top, root string) string {
	t.Helper()
	args := []string{"sh", filepath.Join(top, "install.sh"), "--root", root}
	if err := exec.Command("unshare", "--net", "true").Run(); err == nil {
		args = append([]string{"unshare", "--net", "--"}, args...)
	} else {
		t.Logf("unshare --net not permitted here (%v): install.sh runs with the host network", err)
	}
	return run(t, args[0], args[1:]...)
}
