// Package configfiles finds, expands and validates the appliance's
// configuration files — prometheus.yml, its rule files, alertmanager.yml and
// its templates — as one set, so a reload either applies all of them or none.
package configfiles

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of the top-level files looked up in the configuration directory.
const (
	PrometheusFile   = "prometheus.yml"
	AlertmanagerFile = "alertmanager.yml"
	ApplianceFile    = "appliance.yml"
)

// Sources says where configuration files come from: a file present in Dir
// overrides the embedded default of the same name, which is materialised in
// EmbeddedDir. Relative paths inside a file (rule_files, file_sd files,
// templates) resolve against the directory of the file actually used, as in
// Prometheus and Alertmanager.
type Sources struct {
	Dir         string // operator's directory, e.g. /etc/smm-appliance; may be empty
	EmbeddedDir string // where the embedded defaults were written
}

// Path returns the file to use for name.
func (s Sources) Path(name string) string {
	if s.Dir != "" {
		p := filepath.Join(s.Dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(s.EmbeddedDir, name)
}

// Materialize writes the embedded defaults to dir, replacing what an earlier
// run left there, so that rule files, templates and file_sd targets can be read
// by the libraries as ordinary files.
func Materialize(fsys fs.FS, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Ext(p) == ".go" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", p, err)
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", target, err)
		}
		return nil
	})
}
