package configfiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/discovery/file"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// Origin says where a file in force comes from.
type Origin string

// Origins of a file in force.
const (
	Embedded   Origin = "embedded"   // the shipped default
	Overridden Origin = "overridden" // a file of the same name in --config.dir replaces it
	Added      Origin = "added"      // only in --config.dir
)

// File is one file in force.
type File struct {
	Name   string `json:"name"`   // relative to the configuration directory, e.g. rules/custom.yml
	Path   string `json:"path"`   // the file read
	Origin Origin `json:"origin"` // embedded, overridden or added
}

// origin returns the origin of the file name resolved to path.
func (s Sources) origin(name, path string) Origin {
	if _, inside := relative(filepath.Clean(s.EmbeddedDir), path); inside || s.Dir == "" {
		return Embedded
	}
	if _, err := os.Stat(filepath.Join(s.EmbeddedDir, name)); err == nil {
		return Overridden
	}
	return Added
}

// layers returns the directories a name relative to a file in promDir is
// looked up in, lowest first. For an embedded file, the embedded defaults
// and then --config.dir, which wins: that is what makes rules/ and targets/
// of --config.dir drop-in directories. An operator's own file owns its
// paths, as in Prometheus: they resolve against its directory only.
func (s Sources) layers(promDir string) []string {
	emb := filepath.Clean(s.EmbeddedDir)
	if filepath.Clean(promDir) != emb {
		return []string{filepath.Clean(promDir)}
	}
	dirs := []string{emb}
	if s.Dir != "" && filepath.Clean(s.Dir) != emb {
		dirs = append(dirs, filepath.Clean(s.Dir))
	}
	return dirs
}

// overlayGlob expands the relative pattern in every layer: a file of
// --config.dir replaces the embedded file of the same name, and one only
// there is added.
func (s Sources) overlayGlob(promDir, pattern string) ([]File, error) {
	byName := map[string]File{}
	var order []string
	for _, dir := range s.layers(promDir) {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			name, err := filepath.Rel(dir, m)
			if err != nil {
				continue
			}
			if _, ok := byName[name]; !ok {
				order = append(order, name)
			}
			byName[name] = File{Name: filepath.ToSlash(name), Path: m, Origin: s.origin(name, m)}
		}
	}
	slices.Sort(order)
	out := make([]File, 0, len(order))
	for _, n := range order {
		out = append(out, byName[n])
	}
	return out, nil
}

// relative returns p relative to dir when it lies inside it.
func relative(dir, p string) (string, bool) {
	r, err := filepath.Rel(dir, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return r, true
}

// overlayFileSD rewrites the file_sd patterns of every scrape job that lie
// inside promDir so that both layers are read: the pattern itself in
// --config.dir (a file dropped there later is picked up without a reload,
// as file_sd does), and the embedded files it matches that --config.dir
// does not replace. It returns the target files matched now.
func (s Sources) overlayFileSD(promDir string, sd *file.SDConfig) ([]File, error) {
	var files []string
	var inForce []File
	layered := len(s.layers(promDir)) > 1
	for _, pat := range sd.Files {
		rel, ok := relative(promDir, pat)
		if !ok {
			files = append(files, pat)
			continue
		}
		matched, err := s.overlayGlob(promDir, rel)
		if err != nil {
			return nil, err
		}
		inForce = append(inForce, matched...)
		if !layered {
			files = append(files, pat)
			continue
		}
		// Embedded files are written once at start: list them by name.
		for _, f := range matched {
			if f.Origin == Embedded {
				files = append(files, f.Path)
			}
		}
		files = append(files, filepath.Join(s.Dir, rel))
	}
	sd.Files = slices.Compact(files)
	return inForce, nil
}

// switchedOff returns the names of the groups that rule files of
// --config.dir switch off: a group listed there with no rules.
func switchedOff(files []File, groups map[string]*rulefmt.RuleGroups) []string {
	var names []string
	for _, f := range files {
		if f.Origin == Embedded {
			continue
		}
		for _, g := range groups[f.Path].Groups {
			if len(g.Rules) == 0 && !slices.Contains(names, g.Name) {
				names = append(names, g.Name)
			}
		}
	}
	return names
}
