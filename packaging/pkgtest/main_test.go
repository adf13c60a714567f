package pkgtest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/configs"
	"github.com/smm-architect/smm-appliance/packaging/build"
)

// dist describes the output of make packages under test.
type dist struct {
	dir       string
	opts      build.Options // as make packages built it
	version   build.Version
	artefacts build.Artefacts
}

var theDist *dist

// TestMain reads what make test-packages passes: SMM_PACKAGES_DIST (the dist
// directory) and the options make packages used (SMM_APPLIANCE_BIN,
// SMM_PACKAGE_VERSION, SMM_PACKAGE_REVISION, SOURCE_DATE_EPOCH,
// SMM_PACKAGE_DOCS). Without SMM_PACKAGES_DIST every test skips, so that
// go test ./... stays runnable without root and the package tools.
func TestMain(m *testing.M) {
	dir := os.Getenv("SMM_PACKAGES_DIST")
	if dir == "" {
		fmt.Println("pkgtest: SMM_PACKAGES_DIST not set, skipping (make test-packages runs these tests)")
		os.Exit(0)
	}
	d, err := loadDist(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgtest:", err)
		os.Exit(1)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "pkgtest: must run as root (dpkg --root, rpm --root, chroot)")
		os.Exit(1)
	}
	theDist = d
	code := m.Run()
	if upgrade.dir != "" {
		os.RemoveAll(upgrade.dir)
	}
	os.Exit(code)
}

func loadDist(dir string) (*dist, error) {
	epoch, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
	}
	opts := build.Options{
		Binary:          os.Getenv("SMM_APPLIANCE_BIN"),
		Version:         os.Getenv("SMM_PACKAGE_VERSION"),
		Revision:        os.Getenv("SMM_PACKAGE_REVISION"),
		SourceDateEpoch: epoch,
		Maintainer:      os.Getenv("SMM_PACKAGE_MAINTAINER"),
		License:         os.Getenv("SMM_PACKAGE_LICENSE"),
	}
	for _, d := range strings.Fields(os.Getenv("SMM_PACKAGE_DOCS")) {
		opts.Docs = append(opts.Docs, build.ParseDoc(d))
	}
	if opts.Binary == "" || opts.Version == "" {
		return nil, fmt.Errorf("SMM_APPLIANCE_BIN and SMM_PACKAGE_VERSION must be set with SMM_PACKAGES_DIST")
	}
	v, err := build.ParseVersion(opts.Version, build.EpochTime(epoch))
	if err != nil {
		return nil, err
	}
	d := &dist{dir: dir, opts: opts, version: v, artefacts: build.Names(v)}
	for _, n := range append(d.artefacts.List(), "SHA256SUMS") {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return nil, fmt.Errorf("dist: %w (run make packages)", err)
		}
	}
	return d, nil
}

func (d *dist) path(name string) string { return filepath.Join(d.dir, name) }

// upgradeMarker is appended to prometheus.yml and alertmanager.yml by the
// newer build the upgrade tests install.
const upgradeMarker = "# pkgtest: shipped by the newer package\n"

// upgrade is the newer build the upgrade tests install, built once.
var upgrade struct {
	once      sync.Once
	version   build.Version
	artefacts build.Artefacts
	dir       string
	err       error
}

// buildUpgrade builds the same binary as a higher version whose default
// prometheus.yml and alertmanager.yml differ from the installed ones, and
// returns its version and the paths of its .deb and .rpm.
func buildUpgrade(t *testing.T) (v build.Version, deb, rpm string) {
	t.Helper()
	upgrade.once.Do(func() {
		upgrade.dir, upgrade.err = os.MkdirTemp("", "smm-pkgtest-upgrade-")
		if upgrade.err == nil {
			upgrade.version, upgrade.artefacts, upgrade.err = buildNewer(upgrade.dir)
		}
	})
	require.NoError(t, upgrade.err)
	return upgrade.version, filepath.Join(upgrade.dir, upgrade.artefacts.Deb), filepath.Join(upgrade.dir, upgrade.artefacts.RPM)
}

func buildNewer(dir string) (build.Version, build.Artefacts, error) {
	fsys := fstest.MapFS{}
	err := fs.WalkDir(configs.FS, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := fs.ReadFile(configs.FS, p)
		if err != nil {
			return err
		}
		if p == "prometheus.yml" || p == "alertmanager.yml" {
			data = append(append([]byte(nil), data...), upgradeMarker...)
		}
		fsys[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	if err != nil {
		return build.Version{}, build.Artefacts{}, err
	}
	opts := theDist.opts
	opts.Version = theDist.version.Package + "+pkgtest.1"
	opts.Dist = dir
	opts.Configs = fsys
	a, err := build.Build(opts)
	if err != nil {
		return build.Version{}, build.Artefacts{}, err
	}
	v, err := build.ParseVersion(opts.Version, build.EpochTime(opts.SourceDateEpoch))
	return v, a, err
}
