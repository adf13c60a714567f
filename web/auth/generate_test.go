package auth

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestGenerateAdmin(t *testing.T) {
	dir := t.TempDir()
	webCfg := filepath.Join(dir, "web.yml")
	pwFile := filepath.Join(dir, InitialPasswordFile)

	pw, created, err := GenerateAdmin(GenerateOptions{WebConfigFile: webCfg, PasswordFile: pwFile, GID: -1})
	require.NoError(t, err)
	require.True(t, created)
	require.GreaterOrEqual(t, len(pw), 20, "long enough")
	require.Regexp(t, `^[A-Z2-7]+$`, pw, "base32: no character a shell or YAML would mangle")

	// The web config is what LoadUsers (and exporter-toolkit) reads, with
	// the bcrypt hash of the password for admin.
	users, err := LoadUsers(webCfg)
	require.NoError(t, err)
	require.Len(t, users, 1)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(users[DefaultAdminUser]), []byte(pw)))
	require.NotContains(t, string(mustReadFile(t, webCfg)), pw, "only the hash is stored")
	require.Contains(t, string(mustReadFile(t, webCfg)), "\n  admin: $2", "indented as the rotation recipe in docs/security.md expects")
	requireMode(t, webCfg, 0o640)
	require.Equal(t, pw+"\n", string(mustReadFile(t, pwFile)))
	requireMode(t, pwFile, 0o600)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary files left")

	// Idempotent: an existing web config (an upgrade, an operator's own
	// file, a rotated password) is never touched, nor is the password file.
	before := mustReadFile(t, webCfg)
	pw2, created, err := GenerateAdmin(GenerateOptions{WebConfigFile: webCfg, PasswordFile: pwFile, GID: -1})
	require.NoError(t, err)
	require.False(t, created)
	require.Empty(t, pw2)
	require.Equal(t, before, mustReadFile(t, webCfg))
	require.Equal(t, pw+"\n", string(mustReadFile(t, pwFile)))

	// Each installation gets its own password.
	other := filepath.Join(dir, "other.yml")
	pw3, created, err := GenerateAdmin(GenerateOptions{WebConfigFile: other, User: "root-admin", GID: -1})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, pw, pw3)
	users, err = LoadUsers(other)
	require.NoError(t, err)
	require.Contains(t, users, "root-admin")

	// Errors: no path, a user name that is not a plain word, a missing
	// directory.
	_, _, err = GenerateAdmin(GenerateOptions{GID: -1})
	require.Error(t, err)
	_, _, err = GenerateAdmin(GenerateOptions{WebConfigFile: filepath.Join(dir, "x.yml"), User: "a: b", GID: -1})
	require.ErrorContains(t, err, "user")
	_, created, err = GenerateAdmin(GenerateOptions{WebConfigFile: filepath.Join(dir, "missing", "web.yml"), GID: -1})
	require.Error(t, err)
	require.False(t, created)
}

// TestGenerateAdminGroup: the web config gets the service's group, so the
// service (not root) can read it; only root can change a file's group to one
// it is not in, so this runs only as root.
func TestGenerateAdminGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file another group")
	}
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	_, created, err := GenerateAdmin(GenerateOptions{WebConfigFile: webCfg, GID: 4242})
	require.NoError(t, err)
	require.True(t, created)
	fi, err := os.Stat(webCfg)
	require.NoError(t, err)
	require.Equal(t, uint32(4242), fi.Sys().(*syscall.Stat_t).Gid)
	requireMode(t, webCfg, 0o640)
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func requireMode(t *testing.T, p string, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, mode.String(), fi.Mode().Perm().String(), p)
}
