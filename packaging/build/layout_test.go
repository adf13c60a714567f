package build

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/smm-architect/smm-appliance/configs"
)

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s\n%s", name, strings.Join(args, " "), out)
}

// TestPackageConfigs checks the shipped configuration directory: every
// embedded file, nothing else, and target files that are empty lists whose
// commented example is the demo's valid file_sd content.
func TestPackageConfigs(t *testing.T) {
	files, err := packageConfigs(configs.FS)
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.rel)
		require.False(t, strings.HasSuffix(f.rel, ".go") || strings.Contains(f.rel, "test"), f.rel)
		if path.Dir(f.rel) != "targets" {
			embedded, err := fs.ReadFile(configs.FS, f.rel)
			require.NoError(t, err)
			require.Equal(t, string(embedded), string(f.data), "%s shipped as embedded", f.rel)
			continue
		}
		var list []any
		require.NoError(t, yaml.Unmarshal(f.data, &list), f.rel)
		require.Empty(t, list, "%s ships empty", f.rel)

		// Uncommenting the demo example gives back the demo targets.
		var example bytes.Buffer
		for _, line := range strings.Split(string(f.data), "\n") {
			if strings.HasPrefix(line, "#   ") && !strings.Contains(line, "host1.example") && !strings.Contains(line, "labels:") && !strings.Contains(line, "datacenter:") {
				example.WriteString(strings.TrimPrefix(line, "#   ") + "\n")
			}
		}
		var groups []struct {
			Targets []string `yaml:"targets"`
		}
		require.NoError(t, yaml.Unmarshal(example.Bytes(), &groups), "%s example:\n%s", f.rel, example.String())
		require.NotEmpty(t, groups, f.rel)
		require.NotEmpty(t, groups[0].Targets, f.rel)
	}
	want, err := fs.Glob(configs.FS, "*")
	require.NoError(t, err)
	for _, w := range []string{"prometheus.yml", "alertmanager.yml"} {
		require.Contains(t, names, w)
	}
	for _, dir := range []string{"rules", "templates", "targets", "dashboards"} {
		require.Contains(t, want, dir)
		embedded, err := fs.ReadDir(configs.FS, dir)
		require.NoError(t, err)
		for _, e := range embedded {
			require.Contains(t, names, dir+"/"+e.Name())
		}
	}
}

// TestScriptsParse renders the maintainer scripts and checks them and
// install.sh with sh -n.
func TestScriptsParse(t *testing.T) {
	files, err := packageConfigs(configs.FS)
	require.NoError(t, err)
	names := []string{"deb-preinst", "deb-postinst", "deb-prerm", "deb-postrm", "rpm-pre", "rpm-post", "rpm-preun", "rpm-postun"}
	scripts, err := renderScripts(files, names...)
	require.NoError(t, err)
	install, err := asset("install.sh")
	require.NoError(t, err)
	scripts["install.sh"] = install
	dir := t.TempDir()
	for name, body := range scripts {
		require.Contains(t, string(body), "smm-appliance", name)
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, body, 0o644))
		runTool(t, "sh", "-n", p)
	}
	require.Contains(t, string(scripts["deb-postinst"]), "/etc/smm-appliance/prometheus.yml")
	require.Contains(t, string(scripts["deb-preinst"]), "useradd --system")
	require.Contains(t, string(scripts["rpm-pre"]), "useradd --system")
}

// TestWriteTarReproducible writes the same tree twice, in different orders,
// and compares the bytes; parents come before children.
func TestWriteTarReproducible(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	a := tree{rootFile("/b/file", 0o644, []byte("x")), rootDir("/b", 0o755), rootFile("/a", 0o600, []byte("y"))}
	b := tree{a[2], a[0], a[1]}
	var bufA, bufB bytes.Buffer
	require.NoError(t, writeTar(&bufA, a, mtime))
	require.NoError(t, writeTar(&bufB, b, mtime))
	require.Equal(t, bufA.Bytes(), bufB.Bytes())

	var gzA, gzB bytes.Buffer
	for _, pair := range []struct {
		buf *bytes.Buffer
		t   tree
	}{{&gzA, a}, {&gzB, b}} {
		zw := gzipWriter(pair.buf)
		require.NoError(t, writeTar(zw, pair.t, mtime))
		require.NoError(t, zw.Close())
	}
	require.Equal(t, gzA.Bytes(), gzB.Bytes())
}

// TestGrafanaShipped: the .deb, the .rpm and the offline bundle carry the
// Grafana export of the shipped dashboards — one JSON file per dashboard
// and the provisioning files, the provider reading GrafanaDir/dashboards.
func TestGrafanaShipped(t *testing.T) {
	g, err := grafanaFiles(configs.FS)
	require.NoError(t, err)
	dashboards, err := fs.Glob(configs.FS, "dashboards/*.yml")
	require.NoError(t, err)
	require.Len(t, g, len(dashboards)+2)
	in := &inputs{binary: []byte("bin"), unit: []byte("unit"), env: []byte("env"), grafana: g, version: Version{File: "1.0.0", Package: "1.0.0"}}
	want := []string{
		GrafanaDir + "/dashboards/smm-connectors.json",
		GrafanaDir + "/dashboards/smm-appliance.json",
		GrafanaDir + "/provisioning/dashboards/smm-appliance.yml",
		GrafanaDir + "/provisioning/datasources/smm-appliance.yml",
	}
	for _, format := range []string{"deb", "rpm"} {
		paths := map[string]entry{}
		for _, e := range packageTree(in, format) {
			paths[e.path] = e
		}
		for _, w := range want {
			require.Contains(t, paths, w, format)
			require.False(t, paths[w].config, "%s: %s is not configuration: replaced on upgrade", format, w)
		}
		require.True(t, paths[GrafanaDir+"/provisioning"].isDir(), format)
	}
	bundle, err := bundleTree(in)
	require.NoError(t, err)
	var found []string
	for _, e := range bundle {
		if strings.Contains(e.path, "/grafana/") && !e.isDir() {
			found = append(found, strings.SplitN(e.path, "/grafana/", 2)[1])
		}
	}
	require.Len(t, found, len(g))
	for _, f := range g {
		if f.rel == "provisioning/dashboards/smm-appliance.yml" {
			require.Contains(t, string(f.data), "path: "+GrafanaDir+"/dashboards\n")
		}
	}
}
