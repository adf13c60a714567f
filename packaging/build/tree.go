package build

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// entry is one file, directory or symlink of an installation tree.
type entry struct {
	// path is absolute and slash-separated in the target system:
	// /etc/smm-appliance/prometheus.yml. In a bundle it is relative to the
	// bundle's top directory.
	path string
	// mode holds the permission bits and fs.ModeDir or fs.ModeSymlink.
	mode         fs.FileMode
	owner, group string
	uid, gid     int
	data         []byte
	link         string
	// config marks a conffile (deb) or %config(noreplace) (rpm).
	config bool
	// doc marks documentation (%doc in the rpm).
	doc bool
}

func (e entry) isDir() bool     { return e.mode&fs.ModeDir != 0 }
func (e entry) isSymlink() bool { return e.mode&fs.ModeSymlink != 0 }

func rootFile(p string, perm fs.FileMode, data []byte) entry {
	return entry{path: p, mode: perm, owner: "root", group: "root", data: data}
}

func rootDir(p string, perm fs.FileMode) entry {
	return entry{path: p, mode: fs.ModeDir | perm, owner: "root", group: "root"}
}

// tree is an installation tree in the order it is written: sorted by path, so
// that a directory precedes its contents and two builds list the same bytes.
type tree []entry

func (t tree) sorted() tree {
	out := append(tree(nil), t...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// withParents adds a root-owned 0755 directory for every missing parent.
func (t tree) withParents() tree {
	have := map[string]bool{}
	for _, e := range t {
		have[e.path] = true
	}
	out := append(tree(nil), t...)
	for _, e := range t {
		for dir := path.Dir(e.path); dir != "/" && dir != "." && !have[dir]; dir = path.Dir(dir) {
			have[dir] = true
			out = append(out, rootDir(dir, 0o755))
		}
	}
	return out
}

// writeTar writes t as a tar stream whose bytes depend only on t and mtime:
// sorted entries, one fixed modification time, numeric and named owners, no
// access or change times, no host user or group lookups.
func writeTar(w io.Writer, t tree, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range t.sorted() {
		name := strings.TrimPrefix(e.path, "/")
		hdr := &tar.Header{
			Name:    name,
			Mode:    tarMode(e.mode),
			Uid:     e.uid,
			Gid:     e.gid,
			Uname:   e.owner,
			Gname:   e.group,
			ModTime: mtime,
		}
		switch {
		case e.isDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case e.isSymlink():
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.link
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar %s: %w", e.path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return fmt.Errorf("tar %s: %w", e.path, err)
			}
		}
	}
	return tw.Close()
}

// tarMode is the tar header mode of m: permission bits plus setuid, setgid
// and sticky in their Unix positions.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// gzipWriter compresses without a file name or timestamp in the header, so
// the output depends only on the input.
func gzipWriter(w io.Writer) *gzip.Writer {
	zw, _ := gzip.NewWriterLevel(w, gzip.DefaultCompression) // the level is valid
	return zw
}
