// Package versions keeps every configuration the appliance applied as a
// numbered version (author, time, source, the files, a diff against the one
// before), and reads and writes configuration bundles: tar archives of a
// configuration directory, as `smm-appliance deploy` sends them.
package versions

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits on a bundle. The SMM configuration is about 250 KB; these leave
// room for a large rule set and refuse a decompression bomb early.
const (
	MaxBundleBytes = 8 << 20  // the request body, compressed or not
	MaxTotalBytes  = 32 << 20 // the files, uncompressed
	MaxFileBytes   = 4 << 20  // one file
	MaxFiles       = 2000
)

// TopFiles are the files a bundle may hold at its root.
var TopFiles = []string{"prometheus.yml", "alertmanager.yml", "appliance.yml"}

// Dirs are the directories a bundle may hold, with anything below them of
// an allowed extension.
var Dirs = []string{"rules", "targets", "templates", "dashboards"}

var exts = []string{".yml", ".yaml", ".json", ".tmpl"}

// Allowed reports whether name (slash-separated, relative, clean) may be in
// a bundle: a top file, or a file of an allowed extension under one of Dirs.
func Allowed(name string) bool {
	if slices.Contains(TopFiles, name) {
		return true
	}
	top, rest, ok := strings.Cut(name, "/")
	if !ok || !slices.Contains(Dirs, top) || rest == "" {
		return false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return false // hidden files (editor swap files, macOS ._ files)
		}
	}
	return slices.Contains(exts, path.Ext(name))
}

// BundleError is a refused bundle: the entry and why.
type BundleError struct {
	Entry  string
	Reason string
	Err    error // the read error behind Reason, if any
}

func (e *BundleError) Unwrap() error { return e.Err }

func (e *BundleError) Error() string {
	if e.Entry == "" {
		return "bundle refused: " + e.Reason
	}
	return fmt.Sprintf("bundle refused: %s: %s", e.Entry, e.Reason)
}

// Extract unpacks a bundle (tar, or gzip-compressed tar) from r into dst,
// which must exist and be empty. It refuses, naming the entry, absolute
// paths, "..", links, devices and other non-regular files, names outside
// the allowed set, and archives over the limits; what was written before
// the refusal is left for the caller to remove with dst.
func Extract(r io.Reader, dst string) error {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &BundleError{Reason: "bad gzip: " + err.Error()}
		}
		defer zr.Close()
		src = zr
	}
	tr := tar.NewReader(src)
	var total int64
	files := 0
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &BundleError{Reason: "not a tar archive: " + err.Error(), Err: err}
		}
		raw := h.Name
		if strings.Contains(raw, "\\") || strings.ContainsRune(raw, 0) {
			return &BundleError{Entry: raw, Reason: "bad character in name"}
		}
		if strings.HasPrefix(raw, "/") {
			return &BundleError{Entry: raw, Reason: "absolute path"}
		}
		if slices.Contains(strings.Split(raw, "/"), "..") {
			return &BundleError{Entry: raw, Reason: "path contains .."}
		}
		name := strings.TrimPrefix(path.Clean(raw), "./")
		switch h.Typeflag {
		case tar.TypeDir:
			if name == "." || slices.Contains(Dirs, strings.SplitN(name, "/", 2)[0]) {
				continue // directories are made as their files need them
			}
			return &BundleError{Entry: raw, Reason: "directory outside " + strings.Join(Dirs, "/, ") + "/"}
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			return &BundleError{Entry: raw, Reason: "links are not allowed"}
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		default:
			return &BundleError{Entry: raw, Reason: fmt.Sprintf("not a regular file (type %q)", h.Typeflag)}
		}
		if !Allowed(name) {
			return &BundleError{Entry: raw, Reason: "not a configuration file (allowed: " + strings.Join(TopFiles, ", ") + ", and *.yml, *.yaml, *.json, *.tmpl under " + strings.Join(Dirs, "/, ") + "/)"}
		}
		if seen[name] {
			return &BundleError{Entry: raw, Reason: "duplicate entry"}
		}
		seen[name] = true
		if files++; files > MaxFiles {
			return &BundleError{Reason: fmt.Sprintf("more than %d files", MaxFiles)}
		}
		if h.Size > MaxFileBytes {
			return &BundleError{Entry: raw, Reason: fmt.Sprintf("file larger than %d bytes", MaxFileBytes)}
		}
		if total += h.Size; total > MaxTotalBytes {
			return &BundleError{Reason: fmt.Sprintf("files larger than %d bytes in all", MaxTotalBytes)}
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.LimitReader(tr, MaxFileBytes+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return &BundleError{Entry: raw, Reason: "read: " + err.Error(), Err: err}
		}
	}
	if files == 0 {
		return &BundleError{Reason: "no configuration files in the archive"}
	}
	return nil
}

// Walk calls fn for every allowed file under dir, by name, sorted. Other
// files (a web config, TLS keys, editor backups) are not configuration and
// are skipped; a missing dir has no files.
func Walk(dir string, fn func(name, path string) error) error {
	if dir == "" {
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			if name != "." && !slices.Contains(Dirs, strings.SplitN(name, "/", 2)[0]) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !Allowed(name) {
			return nil
		}
		return fn(name, p)
	})
}

// Pack writes the allowed files of dir as a gzip-compressed tar bundle.
func Pack(dir string, w io.Writer) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	n := 0
	err := Walk(dir, func(name, p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("%s holds no configuration files (%s, %s/)", dir, strings.Join(TopFiles, ", "), strings.Join(Dirs, "/, "))
	}
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// CopyDir copies the allowed files of src into dst.
func CopyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return err
	}
	return Walk(src, func(name, p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o640)
	})
}
