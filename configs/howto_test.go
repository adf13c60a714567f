package configs

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// howtoDoc is the "How to add an alert" page; TestHowtoVerbatim runs it.
const howtoDoc = "../docs/alerts-howto.md"

// howtoStep is one fenced block of the page: a file to write (yaml
// file=path) or shell commands to run (sh).
type howtoStep struct {
	file    string // set for a file block
	content string
}

// howtoSteps extracts the page's fenced blocks in order. Blocks of other
// kinds are ignored.
func howtoSteps(t *testing.T, path string) []howtoStep {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var steps []howtoStep
	var cur *howtoStep
	var body strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```yaml file="):
			cur = &howtoStep{file: strings.TrimPrefix(line, "```yaml file=")}
			body.Reset()
		case cur == nil && line == "```sh":
			cur = &howtoStep{}
			body.Reset()
		case cur != nil && line == "```":
			cur.content = body.String()
			steps = append(steps, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "unterminated block")
	return steps
}

// TestHowtoVerbatim follows docs/alerts-howto.md in an empty configuration
// directory with the smm-appliance binary ($SMM_APPLIANCE_BIN, else built
// here): every file block is written, every command must succeed.
func TestHowtoVerbatim(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	steps := howtoSteps(t, howtoDoc)
	var files, commands int
	for _, s := range steps {
		if s.file != "" {
			files++
		} else {
			commands++
		}
	}
	require.Equal(t, 2, files, "the rule and its test case")
	require.Equal(t, 2, commands, "the routing check; the test and check config")

	bin := os.Getenv("SMM_APPLIANCE_BIN")
	binDir := t.TempDir()
	if bin == "" {
		bin = filepath.Join(binDir, "smm-appliance")
		out, err := exec.Command("go", "build", "-o", bin, "../cmd/smm-appliance").CombinedOutput()
		require.NoError(t, err, "%s", out)
	} else {
		require.NoError(t, os.Symlink(bin, filepath.Join(binDir, "smm-appliance")))
	}

	dir := t.TempDir()
	for _, s := range steps {
		if s.file != "" {
			p := filepath.Join(dir, s.file)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(s.content), 0o644))
			continue
		}
		for line := range strings.SplitSeq(strings.TrimSpace(s.content), "\n") {
			if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			cmd := exec.Command("sh", "-c", line)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "SMM_CONFIG_DIR=")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s:\n%s", line, out)
			require.NotContains(t, string(out), "WARNING", "%s", line)
		}
	}
}
