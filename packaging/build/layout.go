package build

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/smm-architect/smm-appliance/configs"
	"github.com/smm-architect/smm-appliance/packaging"
	"github.com/smm-architect/smm-appliance/web/dashboards"
)

// Where an installation puts things. The unit, the scripts and install.sh
// (packaging/files) spell the same paths.
const (
	Name       = "smm-appliance"
	User       = "smm-appliance"
	BinPath    = "/usr/bin/smm-appliance"
	UnitPath   = "/usr/lib/systemd/system/smm-appliance.service"
	ConfigDir  = "/etc/smm-appliance"
	StateDir   = "/var/lib/smm-appliance"
	DocDir     = "/usr/share/doc/smm-appliance"
	DebEnvFile = "/etc/default/smm-appliance"
	RPMEnvFile = "/etc/sysconfig/smm-appliance"
	// GrafanaDir holds the dashboards exported for Grafana and the
	// provisioning files pointing a Grafana at them and at the appliance.
	GrafanaDir = "/usr/share/smm-appliance/grafana"
)

// grafanaFiles is the Grafana export of the dashboards in fsys, paths
// relative to GrafanaDir: dashboards/<uid>.json and provisioning/*/
// smm-appliance.yml, the data source at the appliance's default address.
func grafanaFiles(fsys fs.FS) ([]configFile, error) {
	ds, err := dashboards.ParseFS(fsys)
	if err != nil {
		return nil, fmt.Errorf("grafana export: %w", err)
	}
	files, err := dashboards.GrafanaFiles(ds, GrafanaDir+"/dashboards", "http://localhost:9090")
	if err != nil {
		return nil, fmt.Errorf("grafana export: %w", err)
	}
	var out []configFile
	for rel, data := range files {
		out = append(out, configFile{rel: rel, data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// configFile is one file of the configuration directory, path relative to it.
type configFile struct {
	rel  string
	data []byte
}

// packageConfigs returns the configuration directory as an installation ships
// it: prometheus.yml, alertmanager.yml, rules/*.yml, dashboards/*.yml,
// templates/* and targets/*.yml from fsys (the SMM defaults embedded in the binary), without
// Go files, tests and test data. The target files are replaced by empty lists
// with the demo targets as a commented example: a fresh install must not scrape,
// and page about, the simulator's addresses on hosts where nothing listens.
func packageConfigs(fsys fs.FS) ([]configFile, error) {
	var out []configFile
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == "testdata" || d.Name() == "tests" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if !shippedConfig(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if path.Dir(p) == "targets" {
			data = emptyTargets(p, data)
		}
		out = append(out, configFile{rel: p, data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read configs: %w", err)
	}
	for _, want := range []string{"prometheus.yml", "alertmanager.yml"} {
		if !hasConfig(out, want) {
			return nil, fmt.Errorf("read configs: %s missing", want)
		}
	}
	return out, nil
}

func shippedConfig(p string) bool {
	base := path.Base(p)
	if strings.HasSuffix(base, ".go") || strings.Contains(base, "_test.") || strings.HasPrefix(base, ".") || base == "README.md" {
		return false
	}
	switch path.Dir(p) {
	case ".":
		return strings.HasSuffix(base, ".yml")
	case "rules", "targets", "dashboards":
		return strings.HasSuffix(base, ".yml")
	case "templates":
		return strings.HasSuffix(base, ".tmpl")
	}
	return false
}

func hasConfig(files []configFile, rel string) bool {
	for _, f := range files {
		if f.rel == rel {
			return true
		}
	}
	return false
}

// emptyTargets turns a demo file_sd file into the shipped one: an empty list,
// with the demo's entries commented out as the example.
func emptyTargets(rel string, demo []byte) []byte {
	job := strings.TrimSuffix(path.Base(rel), ".yml")
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Targets of the job %q (file_sd), read by prometheus.yml in the directory above.\n", job)
	b.WriteString(`#
# Shipped empty: until you list your hosts here, the appliance scrapes nothing for this
# job and raises no alert about it. Prometheus reads this file again when it changes; no
# reload or restart is needed. Keep it a YAML list ("[]" when empty).
#
# Example: the built-in demo points this job at the smm-simulator with
#
`)
	for _, line := range strings.Split(strings.TrimRight(string(demo), "\n"), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString("#   " + line + "\n")
	}
	b.WriteString(`#
# and a real host with extra labels looks like
#
#   - targets: ["host1.example.internal:9100"]
#     labels:
#       datacenter: fra1
[]
`)
	return b.Bytes()
}

// scriptData is what the maintainer script templates see.
type scriptData struct {
	// ConfigDirs and ConfigFiles are the absolute paths of the packaged
	// configuration, for the deb postinst's ownership fix-up.
	ConfigDirs  []string
	ConfigFiles []string
}

// renderScripts renders packaging/files/scripts/<name>.tmpl for each name.
func renderScripts(configs []configFile, names ...string) (map[string][]byte, error) {
	tmpl, err := template.ParseFS(packaging.Files, "files/scripts/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse scripts: %w", err)
	}
	data := scriptData{ConfigDirs: []string{ConfigDir}}
	seen := map[string]bool{}
	for _, c := range configs {
		data.ConfigFiles = append(data.ConfigFiles, path.Join(ConfigDir, c.rel))
		if dir := path.Dir(c.rel); dir != "." && !seen[dir] {
			seen[dir] = true
			data.ConfigDirs = append(data.ConfigDirs, path.Join(ConfigDir, dir))
		}
	}
	out := map[string][]byte{}
	for _, n := range names {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, n+".tmpl", data); err != nil {
			return nil, fmt.Errorf("render script %s: %w", n, err)
		}
		out[n] = b.Bytes()
	}
	return out, nil
}

// asset reads one of packaging/files.
func asset(name string) ([]byte, error) {
	b, err := fs.ReadFile(packaging.Files, "files/"+name)
	if err != nil {
		return nil, fmt.Errorf("packaging file %s: %w", name, err)
	}
	return b, nil
}

// WriteConfigs writes the configuration directory as the packages install it
// (target files empty) into dir: for the Dockerfile, and for installing by
// hand. fsys nil means the SMM defaults the binary embeds.
func WriteConfigs(fsys fs.FS, dir string) error {
	if fsys == nil {
		fsys = configs.FS
	}
	files, err := packageConfigs(fsys)
	if err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
