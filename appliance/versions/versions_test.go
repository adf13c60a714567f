package versions

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type entry struct {
	name     string
	typ      byte
	body     string
	size     int64 // header size when not len(body)
	linkname string
}

func tarOf(t *testing.T, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.linkname}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		require.NoError(t, tw.WriteHeader(h))
		if typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	if zw != nil {
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

// TestExtractRefusesHostileBundles: every unsafe entry is refused by name,
// and nothing is written outside the destination.
func TestExtractRefusesHostileBundles(t *testing.T) {
	ok := entry{name: "prometheus.yml", body: "global: {}\n"}
	cases := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"absolute path", []entry{ok, {name: "/etc/passwd", body: "x"}}, "absolute path"},
		{"dot dot", []entry{{name: "rules/../../escape.yml", body: "x"}}, "contains .."},
		{"dot dot at top", []entry{{name: "../prometheus.yml", body: "x"}}, "contains .."},
		{"symlink", []entry{{name: "rules/x.yml", typ: tar.TypeSymlink, linkname: "/etc/shadow"}}, "links are not allowed"},
		{"hard link", []entry{ok, {name: "rules/x.yml", typ: tar.TypeLink, linkname: "prometheus.yml"}}, "links are not allowed"},
		{"device", []entry{{name: "rules/dev.yml", typ: tar.TypeChar}}, "not a regular file"},
		{"fifo", []entry{{name: "rules/fifo.yml", typ: tar.TypeFifo}}, "not a regular file"},
		{"outside the set", []entry{ok, {name: "web.yml", body: "basic_auth_users: {}"}}, "not a configuration file"},
		{"wrong extension", []entry{{name: "rules/x.sh", body: "#!/bin/sh"}}, "not a configuration file"},
		{"hidden file", []entry{{name: "rules/.x.yml", body: "x"}}, "not a configuration file"},
		{"other directory", []entry{{name: "bin/", typ: tar.TypeDir}}, "directory outside"},
		{"duplicate", []entry{ok, ok}, "duplicate entry"},
		{"empty", nil, "no configuration files"},
		{"too big file", []entry{{name: "rules/big.yml", body: strings.Repeat("x", MaxFileBytes+1)}}, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, gz := range []bool{false, true} {
				parent := t.TempDir()
				dst := filepath.Join(parent, "dst")
				require.NoError(t, os.Mkdir(dst, 0o750))
				err := Extract(bytes.NewReader(tarOf(t, gz, c.entries...)), dst)
				require.ErrorContains(t, err, c.want)
				var be *BundleError
				require.ErrorAs(t, err, &be)
				ents, _ := os.ReadDir(parent)
				require.Len(t, ents, 1, "nothing beside the destination")
			}
		})
	}
	// A gzip bomb: 36 MiB of files in a few kilobytes.
	var bomb []entry
	for i := range 9 {
		bomb = append(bomb, entry{name: fmt.Sprintf("rules/bomb%d.yml", i), body: strings.Repeat("#", MaxFileBytes)})
	}
	b := tarOf(t, true, bomb...)
	require.Less(t, len(b), 1<<20)
	require.ErrorContains(t, Extract(bytes.NewReader(b), t.TempDir()), "larger than 33554432 bytes in all")
	var many []entry
	for i := range MaxFiles + 1 {
		many = append(many, entry{name: fmt.Sprintf("targets/t%d.yml", i), body: "[]\n"})
	}
	require.ErrorContains(t, Extract(bytes.NewReader(tarOf(t, true, many...)), t.TempDir()), "more than 2000 files")

	_, err := os.Stat("/tmp/escape.yml")
	require.True(t, os.IsNotExist(err))
	err = Extract(strings.NewReader("not a tar at all, just text that is long enough to be read as a header block............................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................"), t.TempDir())
	require.ErrorContains(t, err, "not a tar archive")
}

func TestExtractPackRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"prometheus.yml":       "global: {}\n",
		"rules/custom.yml":     "groups: []\n",
		"rules/sub/deep.yaml":  "groups: []\n",
		"templates/x.tmpl":     "{{ define \"x\" }}{{ end }}",
		"dashboards/main.json": "{}",
	}
	for n, c := range files {
		p := filepath.Join(src, filepath.FromSlash(n))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o750))
		require.NoError(t, os.WriteFile(p, []byte(c), 0o640))
	}
	// Not configuration: left out of the bundle.
	require.NoError(t, os.WriteFile(filepath.Join(src, "web.yml"), []byte("secret"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "rules", "custom.yml~"), []byte("backup"), 0o600))
	var buf bytes.Buffer
	require.NoError(t, Pack(src, &buf))
	dst := t.TempDir()
	require.NoError(t, Extract(&buf, dst))
	got, _, err := Snapshot("", dst, nil)
	require.NoError(t, err)
	require.Equal(t, files, got)
	require.ErrorContains(t, Pack(t.TempDir(), &buf), "no configuration files")
	// "./"-prefixed names, as `tar -C dir -cf - .` writes them.
	dst2 := t.TempDir()
	require.NoError(t, Extract(bytes.NewReader(tarOf(t, false, entry{name: "./", typ: tar.TypeDir}, entry{name: "./rules/", typ: tar.TypeDir}, entry{name: "./rules/a.yml", body: "groups: []\n"})), dst2))
	_, err = os.Stat(filepath.Join(dst2, "rules", "a.yml"))
	require.NoError(t, err)
}

func TestDiff(t *testing.T) {
	a := map[string]string{
		"prometheus.yml": "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nl\n",
		"gone.yml":       "x\n",
		"same.yml":       "s\n",
	}
	b := map[string]string{
		"prometheus.yml": "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nl\nk\n",
		"new.yml":        "n\n",
		"same.yml":       "s\n",
	}
	want := `--- a/gone.yml
+++ /dev/null
@@ -1,1 +0,0 @@
-x
--- /dev/null
+++ b/new.yml
@@ -0,0 +1,1 @@
+n
--- a/prometheus.yml
+++ b/prometheus.yml
@@ -1,7 +1,7 @@
 a
 b
 c
-d
+D
 e
 f
 g
@@ -9,3 +9,4 @@
 i
 j
 l
+k
`
	require.Equal(t, want, Diff(a, b))
	require.Empty(t, Diff(b, b))
	// Changes 6 lines apart share a hunk, as in diff -u.
	require.Equal(t, "--- a/x\n+++ b/x\n@@ -1,10 +1,11 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n i\n j\n+k\n",
		Diff(map[string]string{"x": "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"}, map[string]string{"x": "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n"}))
	require.Contains(t, Diff(map[string]string{"x": "a"}, map[string]string{"x": "b"}), "\\ No newline at end of file")
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	_, ok := s.Active()
	require.False(t, ok)
	v1, err := s.Add(Version{Author: "start", Source: SourceStart, Result: ResultApplied}, map[string]string{"a.yml": "1\n"}, "")
	require.NoError(t, err)
	require.NoError(t, s.SetActive(v1.Version))
	stage, err := s.Stage()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(stage, "prometheus.yml"), []byte("x"), 0o640))
	v2, err := s.Add(Version{Author: "token:ci", Source: SourceDeploy, Result: ResultApplied, Deployed: true}, map[string]string{"a.yml": "2\n"}, stage)
	require.NoError(t, err)
	require.Equal(t, 2, v2.Version)
	require.Equal(t, 1, v2.Previous)
	require.NoError(t, s.SetActive(2))
	d, err := s.DiffOf(2)
	require.NoError(t, err)
	require.Contains(t, d, "-1\n+2\n")

	// A version cut short by a crash (no version.json) and a stage left
	// behind are removed at open; the active one survives a restart.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "3"), 0o750))
	_, err = s.Stage()
	require.NoError(t, err)
	s2, err := Open(dir)
	require.NoError(t, err)
	act, ok := s2.Active()
	require.True(t, ok)
	require.Equal(t, 2, act.Version)
	require.True(t, act.Deployed)
	_, err = os.Stat(filepath.Join(s2.Dir(2), "prometheus.yml"))
	require.NoError(t, err)
	require.Len(t, s2.List(), 2)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		require.False(t, strings.HasPrefix(e.Name(), ".stage"), e.Name())
		require.NotEqual(t, "3", e.Name())
	}
	_, err = s2.Get(9)
	require.ErrorIs(t, err, ErrNotFound)
}
