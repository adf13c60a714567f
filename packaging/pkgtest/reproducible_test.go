package pkgtest

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/packaging/build"
)

// TestReproducible builds the artefacts a second time, later, from a fresh
// copy of the binary (other file times), into another directory, with the
// options make packages used, and compares every byte via SHA256SUMS.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "smm-appliance")
	src, err := os.Open(theDist.opts.Binary)
	require.NoError(t, err)
	dst, err := os.Create(bin)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, src.Close())
	require.NoError(t, dst.Close())

	opts := theDist.opts
	opts.Binary = bin
	opts.Dist = filepath.Join(dir, "dist")
	a, err := build.Build(opts)
	require.NoError(t, err)
	require.Equal(t, theDist.artefacts, a)

	want := string(mustRead(t, theDist.path("SHA256SUMS")))
	got := string(mustRead(t, filepath.Join(opts.Dist, "SHA256SUMS")))
	require.Equal(t, want, got, "second build differs from make packages' (same SOURCE_DATE_EPOCH %d)", opts.SourceDateEpoch)
	t.Logf("SHA256SUMS of both builds:\n%s", got)
}
