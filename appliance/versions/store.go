package versions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smm-architect/smm-appliance/storage/persist"
)

// Sources of a version.
const (
	SourceStart    = "start"    // first start, or files edited while stopped
	SourceUpgrade  = "upgrade"  // the embedded defaults changed (a new package)
	SourceReload   = "reload"   // SIGHUP or POST /-/reload after a file edit
	SourceDeploy   = "deploy"   // POST /api/v1/appliance/config
	SourceRollback = "rollback" // POST .../versions/<n>/rollback
)

// Results of a version.
const (
	ResultApplied    = "applied"     // it was (or is) in force
	ResultRolledBack = "rolled_back" // a deploy whose reload or readiness failed
)

// Keep is how many versions are kept; older ones are deleted, except the
// one in force.
const Keep = 100

// Version is one applied configuration.
type Version struct {
	Version int       `json:"version"`
	Time    time.Time `json:"time"`
	Author  string    `json:"author"`
	Source  string    `json:"source"`
	Result  string    `json:"result"`
	Error   string    `json:"error,omitempty"`
	// Previous is the version in force before this one (its diff is
	// against that one); 0 for the first.
	Previous int `json:"previous,omitempty"`
	// RollbackOf is the version a rollback restored.
	RollbackOf int `json:"rollbackOf,omitempty"`
	// Deployed is set when the version's own directory replaced the files
	// of --config.dir (a deploy or a rollback).
	Deployed bool `json:"deployed"`
	// EmbeddedDigest is the digest of the embedded defaults in force: a
	// change at start is a package upgrade.
	EmbeddedDigest string `json:"embeddedDigest,omitempty"`
	// Files are the sha256 of every configuration file in force, by name.
	Files map[string]string `json:"files"`
	// Active is set on the version in force (in answers only).
	Active bool `json:"active,omitempty"`
}

// Store is data/config-versions: one directory per version holding
// version.json, content.json (every file in force, embedded or not, for
// diffs) and, for a deployed version, dir/ (the configuration directory
// in force in place of --config.dir); active.json names the version in
// force. Versions are written whole before active.json points at them.
type Store struct {
	dir string

	mtx      sync.Mutex
	versions []Version // oldest first
	active   int
}

// Open reads the store in dir, creating it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	s := &Store{dir: dir}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			if strings.HasPrefix(e.Name(), ".stage") {
				os.RemoveAll(filepath.Join(dir, e.Name())) // a deploy cut short
			}
			continue
		}
		var v Version
		if err := readJSON(filepath.Join(dir, e.Name(), "version.json"), &v); err != nil {
			// A version cut short by a crash: never made active.
			os.RemoveAll(filepath.Join(dir, e.Name()))
			continue
		}
		v.Version = n
		s.versions = append(s.versions, v)
	}
	slices.SortFunc(s.versions, func(a, b Version) int { return a.Version - b.Version })
	var act struct {
		Version int `json:"version"`
	}
	if err := readJSON(filepath.Join(dir, "active.json"), &act); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s.active = act.Version
	return s, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return persist.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// Stage returns a new empty directory in the store for a bundle to be
// unpacked into; Add moves it into place, the caller removes it otherwise.
func (s *Store) Stage() (string, error) { return os.MkdirTemp(s.dir, ".stage") }

// List returns the versions, newest first.
func (s *Store) List() []Version {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	out := make([]Version, 0, len(s.versions))
	for i := len(s.versions) - 1; i >= 0; i-- {
		v := s.versions[i]
		v.Active = v.Version == s.active
		out = append(out, v)
	}
	return out
}

// ErrNotFound is a version that is not (or no longer) stored.
var ErrNotFound = errors.New("no such version")

// Get returns version n.
func (s *Store) Get(n int) (Version, error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	for _, v := range s.versions {
		if v.Version == n {
			v.Active = v.Version == s.active
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("%w: %d", ErrNotFound, n)
}

// Latest returns the newest version applied, if any.
func (s *Store) Latest() (Version, bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	for i := len(s.versions) - 1; i >= 0; i-- {
		if s.versions[i].Result == ResultApplied {
			return s.versions[i], true
		}
	}
	return Version{}, false
}

// Active returns the version in force, if any.
func (s *Store) Active() (Version, bool) {
	s.mtx.Lock()
	n := s.active
	s.mtx.Unlock()
	v, err := s.Get(n)
	return v, err == nil
}

// Dir is the configuration directory of version n (deployed versions).
func (s *Store) Dir(n int) string { return filepath.Join(s.dir, strconv.Itoa(n), "dir") }

// Content returns every configuration file in force in version n.
func (s *Store) Content(n int) (map[string]string, error) {
	c := map[string]string{}
	if n == 0 {
		return c, nil
	}
	if err := readJSON(filepath.Join(s.dir, strconv.Itoa(n), "content.json"), &c); err != nil {
		return nil, fmt.Errorf("version %d: %w", n, err)
	}
	return c, nil
}

// DiffOf is the diff of version n against the version in force before it.
func (s *Store) DiffOf(n int) (string, error) {
	v, err := s.Get(n)
	if err != nil {
		return "", err
	}
	a, err := s.Content(v.Previous)
	if err != nil {
		a = map[string]string{} // pruned: everything shows as added
	}
	b, err := s.Content(n)
	if err != nil {
		return "", err
	}
	return Diff(a, b), nil
}

// Add stores a new version with the files in content; dir, if not empty,
// is moved in as the version's configuration directory (the operator's
// layer, what a rollback restores). The version is
// not made active (SetActive).
func (s *Store) Add(v Version, content map[string]string, dir string) (Version, error) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	v.Version = 1
	if len(s.versions) > 0 {
		v.Version = s.versions[len(s.versions)-1].Version + 1
	}
	v.Previous = s.active
	v.Files = Digests(content)
	vdir := filepath.Join(s.dir, strconv.Itoa(v.Version))
	if err := os.MkdirAll(vdir, 0o750); err != nil {
		return Version{}, err
	}
	undo := func(err error) (Version, error) {
		os.RemoveAll(vdir)
		return Version{}, fmt.Errorf("store version %d: %w", v.Version, err)
	}
	if dir != "" {
		if err := os.Rename(dir, filepath.Join(vdir, "dir")); err != nil {
			return undo(err)
		}
	}
	if err := writeJSON(filepath.Join(vdir, "content.json"), content); err != nil {
		return undo(err)
	}
	// version.json last: a directory without it is a version cut short.
	if err := writeJSON(filepath.Join(vdir, "version.json"), v); err != nil {
		return undo(err)
	}
	s.versions = append(s.versions, v)
	s.prune()
	return v, nil
}

// SetResult records the outcome of version n.
func (s *Store) SetResult(n int, result, errMsg string) error {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	for i := range s.versions {
		if s.versions[i].Version == n {
			s.versions[i].Result, s.versions[i].Error = result, errMsg
			v := s.versions[i]
			v.Active = false
			return writeJSON(filepath.Join(s.dir, strconv.Itoa(n), "version.json"), v)
		}
	}
	return fmt.Errorf("%w: %d", ErrNotFound, n)
}

// SetActive makes version n the one in force (at the next start too).
func (s *Store) SetActive(n int) error {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if err := writeJSON(filepath.Join(s.dir, "active.json"), map[string]int{"version": n}); err != nil {
		return err
	}
	s.active = n
	return nil
}

// prune deletes the oldest versions past Keep, never the active one nor
// the one before it. Called with mtx held.
func (s *Store) prune() {
	for len(s.versions) > Keep {
		v := s.versions[0]
		if v.Version == s.active {
			return
		}
		os.RemoveAll(filepath.Join(s.dir, strconv.Itoa(v.Version)))
		s.versions = s.versions[1:]
	}
}

// Digests are the sha256 of each file's content.
func Digests(content map[string]string) map[string]string {
	out := make(map[string]string, len(content))
	for n, c := range content {
		sum := sha256.Sum256([]byte(c))
		out[n] = hex.EncodeToString(sum[:])
	}
	return out
}

// Snapshot reads the configuration in force from its two layers: the
// embedded defaults in embeddedDir, overridden by the files of dir (the
// operator's --config.dir or a deployed version). strip removes the notice
// the appliance puts at the top of each embedded file. It returns the
// contents by name and a digest of the embedded layer alone.
func Snapshot(embeddedDir, dir string, strip func(name, content string) string) (map[string]string, string, error) {
	content := map[string]string{}
	h := sha256.New()
	read := func(layer string, embedded bool) error {
		return Walk(layer, func(name, p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			c := string(b)
			if embedded {
				if strip != nil {
					c = strip(name, c)
				}
				fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(c), c)
			}
			content[name] = c
			return nil
		})
	}
	if err := read(embeddedDir, true); err != nil {
		return nil, "", err
	}
	if err := read(dir, false); err != nil {
		return nil, "", err
	}
	return content, hex.EncodeToString(h.Sum(nil)), nil
}
