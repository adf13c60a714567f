package ui

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// networkErr is how npm says the registry is out of reach.
var networkErr = regexp.MustCompile(`ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|network`)

// TestEditorBundleFresh: the committed editor bundle is what `make ui`
// builds from the pinned package-lock.json, so a change to the editor's
// sources or dependencies cannot ship without its bundle. It needs npm and
// the registry (or npm's cache); without them it skips, saying so.
func TestEditorBundleFresh(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the committed web/ui/static/js/vendor/promql-editor.js is not checked against a fresh build (run make ui where npm is)")
	}
	if testing.Short() {
		t.Skip("-short: the editor bundle check installs npm packages")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "build.mjs", "src/editor.js"} {
		b, err := os.ReadFile(filepath.Join("editor", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ci := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	ci.Dir = dir
	if out, err := ci.CombinedOutput(); err != nil {
		if networkErr.Match(out) {
			t.Skipf("npm cannot reach the registry (offline?): the editor bundle is not checked: %v\n%s", err, tail(out))
		}
		t.Fatalf("npm ci from web/ui/editor/package-lock.json: %v\n%s", err, tail(out))
	}
	fresh := filepath.Join(dir, "bundle.js")
	build := exec.CommandContext(ctx, "node", "build.mjs", fresh)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the editor bundle: %v\n%s", err, out)
	}
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("static/js/vendor/promql-editor.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("web/ui/static/js/vendor/promql-editor.js (%d bytes) differs from a fresh build (%d bytes) of web/ui/editor: run make ui and commit the bundle", len(got), len(want))
	}
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
