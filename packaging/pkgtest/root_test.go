package pkgtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scriptTools are what the maintainer scripts and install.sh call.
var scriptTools = []string{"sh", "getent", "groupadd", "useradd", "chown", "chmod", "chgrp", "mkdir", "rm", "rmdir", "cat", "nologin"}

// newRoot builds a scratch root: a merged-/usr layout with the host's copies of
// tools (and the shared libraries they load), a minimal /etc with root's
// passwd, group and shadow entries, and empty /tmp, /run and /var.
func newRoot(t *testing.T, tools ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "run", "var/lib", "var/log", "proc", "dev"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(root, "tmp"), 0o1777))
	for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
		require.NoError(t, os.Symlink("usr/"+l, filepath.Join(root, l)))
	}
	files := map[string]string{
		"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"etc/group":         "root:x:0:\nnogroup:x:65534:\n",
		"etc/shadow":        "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n",
		"etc/gshadow":       "root:*::\nnogroup:*::\n",
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\ngshadow: files\n",
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.Contains(name, "shadow") {
			mode = 0o640
		}
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(content), mode))
	}
	if defs, err := os.ReadFile("/etc/login.defs"); err == nil {
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc/login.defs"), defs, 0o644))
	}
	for _, tool := range tools {
		copyTool(t, root, tool)
	}
	return root
}

var lddRE = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// copyTool copies the host's tool and every shared library ldd lists for it
// into root, at the same paths.
func copyTool(t *testing.T, root, tool string) {
	t.Helper()
	p, err := exec.LookPath(tool)
	require.NoError(t, err, "tool %s", tool)
	copyPath(t, root, p)
	out, err := exec.Command("ldd", p).Output()
	if err != nil {
		return // static, or a script
	}
	for _, m := range lddRE.FindAllStringSubmatch(string(out), -1) {
		copyPath(t, root, m[1])
	}
}

// copyPath copies file p into root; a symlink is recreated and its target
// copied too.
func copyPath(t *testing.T, root, p string) {
	t.Helper()
	dst := filepath.Join(root, p)
	if _, err := os.Lstat(dst); err == nil {
		return
	}
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	if fi.Mode()&os.ModeSymlink != 0 {
		link, err := os.Readlink(p)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(link, dst))
		target := link
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), link)
		}
		copyPath(t, root, target)
		return
	}
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, fi.Mode().Perm()))
}

// account is one line of a root's /etc/passwd or /etc/group.
type account struct {
	name     string
	id, gid  int
	home     string
	shell    string
	presence bool
}

// lookupUser reads name from root's /etc/passwd.
func lookupUser(t *testing.T, root, name string) account {
	t.Helper()
	for _, f := range readColon(t, filepath.Join(root, "etc/passwd")) {
		if f[0] == name && len(f) >= 7 {
			uid, _ := strconv.Atoi(f[2])
			gid, _ := strconv.Atoi(f[3])
			return account{name: name, id: uid, gid: gid, home: f[5], shell: f[6], presence: true}
		}
	}
	return account{name: name}
}

// lookupGroup reads name from root's /etc/group.
func lookupGroup(t *testing.T, root, name string) account {
	t.Helper()
	for _, f := range readColon(t, filepath.Join(root, "etc/group")) {
		if f[0] == name && len(f) >= 3 {
			gid, _ := strconv.Atoi(f[2])
			return account{name: name, id: gid, gid: gid, presence: true}
		}
	}
	return account{name: name}
}

func readColon(t *testing.T, file string) [][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var out [][]string
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		if line := s.Text(); line != "" {
			out = append(out, strings.Split(line, ":"))
		}
	}
	return out
}

// run runs a command, failing the test with its output on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// runErr runs a command and returns its output and error.
func runErr(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}
