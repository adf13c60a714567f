package build

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
)

const (
	homepage    = "https://github.com/smm-architect/smm-appliance"
	summary     = "SMM monitoring appliance: Prometheus and Alertmanager with the SMM alerting"
	description = summary + `
One static binary that scrapes the SMM Architect platform, evaluates the SMM alert
rules and routes the alerts to Slack, PagerDuty, e-mail and Microsoft Teams: the
Prometheus TSDB, scraping, PromQL and rule evaluation plus the Alertmanager pipeline,
built from the upstream libraries.

Configuration in /etc/smm-appliance, secrets in the environment file, data in
/var/lib/smm-appliance; runs as the system user smm-appliance under systemd.`
)

// packageTree is what the .deb (format "deb") or the .rpm ("rpm") installs.
func packageTree(in *inputs, format string) tree {
	t := tree{
		rootFile(BinPath, 0o755, in.binary),
		rootFile(UnitPath, 0o644, in.unit),
	}
	confDir := func(p string) entry {
		return entry{path: p, mode: fs.ModeDir | 0o750, owner: "root", group: User}
	}
	t = append(t, confDir(ConfigDir))
	seen := map[string]bool{}
	for _, c := range in.configs {
		if dir := path.Dir(c.rel); dir != "." && !seen[dir] {
			seen[dir] = true
			t = append(t, confDir(path.Join(ConfigDir, dir)))
		}
		t = append(t, entry{path: path.Join(ConfigDir, c.rel), mode: 0o640, owner: "root", group: User, data: c.data, config: true})
	}
	env := rootFile(DebEnvFile, 0o600, in.env)
	if format == "rpm" {
		env.path = RPMEnvFile
		// rpm owns the state directory (and leaves it when not empty on erase);
		// the deb creates it in postinst so that dpkg never deletes it.
		t = append(t, entry{path: StateDir, mode: fs.ModeDir | 0o750, owner: User, group: User})
	}
	env.config = true
	t = append(t, env)
	if len(in.docs) > 0 {
		t = append(t, rootDir(DocDir, 0o755))
	}
	t = append(t, grafanaTree(in.grafana)...)
	for _, d := range in.docs {
		e := rootFile(path.Join(DocDir, d.rel), 0o644, d.data)
		e.doc = true
		t = append(t, e)
	}
	return t.sorted()
}

// packageInfo describes the package to nfpm. Files are staged under stage,
// since nfpm reads contents from disk.
func packageInfo(in *inputs, format, stage string) (*nfpm.Info, error) {
	info := &nfpm.Info{
		Name:            Name,
		Arch:            "amd64",
		Platform:        "linux",
		Version:         in.version.Package,
		VersionSchema:   "none",
		Section:         "net",
		Priority:        "optional",
		Maintainer:      in.opts.Maintainer,
		Vendor:          "SMM Architect",
		Homepage:        homepage,
		License:         in.opts.License,
		Description:     description,
		MTime:           in.mtime,
		DisableGlobbing: true,
	}
	info.Umask = 0o022
	var scripts []string
	switch format {
	case "deb":
		// useradd and groupadd run in preinst, before the files are unpacked:
		// a Pre-Depends. getent (libc-bin) and coreutils are Essential.
		info.Deb.Predepends = []string{"passwd"}
		info.Depends = []string{"ca-certificates"}
		info.Recommends = []string{"tzdata"}
		info.Suggests = []string{"systemd"}
		info.Deb.Compression = "gzip:6"
		scripts = []string{"deb-preinst", "deb-postinst", "deb-prerm", "deb-postrm"}
	case "rpm":
		info.Release = "1"
		// nfpm cannot write Requires(pre); a plain Requires still makes rpm
		// install shadow-utils first in the same transaction.
		info.Depends = []string{"shadow-utils", "ca-certificates"}
		info.Recommends = []string{"tzdata"}
		info.Suggests = []string{"systemd"}
		info.RPM.Summary = summary
		// rpm shows the summary on its own line already.
		info.Description = strings.TrimSpace(strings.TrimPrefix(description, summary))
		info.RPM.Group = "System Environment/Daemons"
		info.RPM.Packager = in.opts.Maintainer
		info.RPM.BuildHost = "smm-appliance-build"
		info.RPM.Compression = "gzip:6"
		scripts = []string{"rpm-pre", "rpm-post", "rpm-preun", "rpm-postun"}
	default:
		return nil, fmt.Errorf("unknown package format %q", format)
	}

	rendered, err := renderScripts(in.configs, scripts...)
	if err != nil {
		return nil, err
	}
	stageFile := func(name string, data []byte) (string, error) {
		p := filepath.Join(stage, name)
		return p, os.WriteFile(p, data, 0o644)
	}
	targets := []*string{&info.Scripts.PreInstall, &info.Scripts.PostInstall, &info.Scripts.PreRemove, &info.Scripts.PostRemove}
	for i, s := range scripts {
		if *targets[i], err = stageFile(s, rendered[s]); err != nil {
			return nil, err
		}
	}

	for i, e := range packageTree(in, format) {
		c := &files.Content{
			Destination: e.path,
			FileInfo: &files.ContentFileInfo{
				Owner: e.owner,
				Group: e.group,
				Mode:  e.mode,
				MTime: in.mtime,
			},
		}
		switch {
		case e.isDir():
			c.Type = files.TypeDir
			c.FileInfo.Mode = e.mode.Perm()
		case e.config:
			c.Type = files.TypeConfigNoReplace
		case e.doc && format == "rpm":
			c.Type = files.TypeRPMDoc
		default:
			c.Type = files.TypeFile
		}
		if !e.isDir() {
			if c.Source, err = stageFile("content-"+strconv.Itoa(i), e.data); err != nil {
				return nil, err
			}
		}
		info.Contents = append(info.Contents, c)
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return info, nil
}

func writePackage(in *inputs, format string, w io.Writer) error {
	stage, err := os.MkdirTemp("", "smm-package-"+format+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	info, err := packageInfo(in, format, stage)
	if err != nil {
		return err
	}
	if format == "deb" {
		return deb.Default.Package(info, w)
	}
	return rpm.DefaultRPM.Package(info, w)
}

func writeDeb(in *inputs, w io.Writer) error { return writePackage(in, "deb", w) }
func writeRPM(in *inputs, w io.Writer) error { return writePackage(in, "rpm", w) }

// grafanaTree installs the Grafana export under GrafanaDir, its directories
// listed so that removing the package removes them.
func grafanaTree(files []configFile) tree {
	if len(files) == 0 {
		return nil
	}
	t := tree{rootDir(path.Dir(GrafanaDir), 0o755), rootDir(GrafanaDir, 0o755)}
	seen := map[string]bool{}
	for _, g := range files {
		for dir := path.Dir(g.rel); dir != "." && !seen[dir]; dir = path.Dir(dir) {
			seen[dir] = true
			t = append(t, rootDir(path.Join(GrafanaDir, dir), 0o755))
		}
		t = append(t, rootFile(path.Join(GrafanaDir, g.rel), 0o644, g.data))
	}
	return t
}
