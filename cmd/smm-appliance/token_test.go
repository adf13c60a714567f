package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTokenCommands: create prints the token once (the file holds only
// its hash), list shows it without the secret, revoke removes it; a data
// directory that does not exist is refused rather than created, so a
// token never lands where the appliance does not look.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"token", "create", "--storage.path", dir, "--name", "ci", "--role", "operator", "--scope", "config", "--expires", "1h"}, &out, &errOut), errOut.String())
	tok := strings.TrimSpace(out.String())
	require.True(t, strings.HasPrefix(tok, "smmat_"), tok)
	require.Contains(t, errOut.String(), filepath.Join(dir, "tokens.json"))

	out.Reset()
	require.Equal(t, 0, run([]string{"token", "list", "--storage.path", dir}, &out, &errOut))
	require.Contains(t, out.String(), "ci")
	require.Contains(t, out.String(), "operator")
	require.NotContains(t, out.String(), tok)

	require.Equal(t, 1, run([]string{"token", "create", "--storage.path", dir, "--name", "ci", "--role", "admin"}, &out, &errOut), "names are unique")
	require.Equal(t, 2, run([]string{"token", "create", "--storage.path", dir, "--name", "x", "--role", "root"}, &out, &errOut), "unknown role")
	require.Equal(t, 0, run([]string{"token", "revoke", "--storage.path", dir, "ci"}, &out, &errOut))
	require.Equal(t, 1, run([]string{"token", "revoke", "--storage.path", dir, "ci"}, &out, &errOut))

	errOut.Reset()
	missing := filepath.Join(dir, "nope")
	require.Equal(t, 1, run([]string{"token", "create", "--storage.path", missing, "--name", "ci", "--role", "viewer"}, &out, &errOut))
	require.Contains(t, errOut.String(), "not found")
	require.NoDirExists(t, missing)
}
