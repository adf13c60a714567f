package configs

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// findTool returns the path of an upstream tool (promtool, amtool): the
// environment variable envVar, else bin/tools/ of this repository (where
// `make tools` installs it), else $PATH. A missing tool fails the test: these
// checks are the contract with upstream and must not be skipped silently.
func findTool(t *testing.T, name, envVar string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if p, err := filepath.Abs(filepath.Join("..", "bin", "tools", name)); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: set %s to its path, or run `make tools` to install it into bin/tools", name, envVar)
	return ""
}

// runTool runs a tool in dir and fails the test with its output when it exits
// non-zero.
func runTool(t *testing.T, dir, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(tool), strings.Join(args, " "), out.String())
	return out.String()
}

// testEnv holds dummy values for every variable the shipped files reference
// without a default.
var testEnv = map[string]string{
	"SLACK_BOT_TOKEN":           "xoxb-0000-test-token",
	"SLACK_WEBHOOK_URL":         "https://hooks.slack.invalid/services/T000/B000/XXXX",
	"PAGERDUTY_INTEGRATION_KEY": "0123456789abcdef0123456789abcdef",
	"SMTP_SMARTHOST":            "smtp.invalid:587",
	"SMTP_FROM":                 "smm-alerts@smm-architect.com",
	"TEAMS_WEBHOOK_URL":         "https://teams.invalid/workflows/hook",
	"WATCHDOG_WEBHOOK_URL":      "https://deadman.invalid/ping",
}

var (
	envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)
	// wholeValueRef is a mapping value that is one reference and nothing else.
	wholeValueRef = regexp.MustCompile(`^(\s*(?:-\s+)?[A-Za-z0-9_.]+:\s+)(\$\{[^}]*\})\s*$`)
	// nestedRef is ${A:-${B}}: A, else B (the per-team Slack webhooks).
	nestedRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):-(\$\{[A-Za-z_][A-Za-z0-9_]*\})\}`)
)

// expandEnv stands in for the appliance's expansion of ${VAR} and
// ${VAR:-default}: values come from env, then the default. As the appliance
// does, a value that is a whole scalar is written double-quoted, so the result
// has the YAML types the appliance hands to the parsers. A variable without
// default that env lacks fails the test.
func expandEnv(t *testing.T, text string, env map[string]string) string {
	t.Helper()
	value := func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v := env[m[1]]; v != "" {
			return v
		}
		if strings.Contains(ref, ":-") {
			return m[2]
		}
		t.Fatalf("variable %s is referenced without default and not set in the test environment", m[1])
		return ""
	}
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		nl := ""
		if strings.HasSuffix(l, "\n") {
			l, nl = strings.TrimSuffix(l, "\n"), "\n"
		}
		l = nestedRef.ReplaceAllStringFunc(l, func(ref string) string {
			m := nestedRef.FindStringSubmatch(ref)
			if v := env[m[1]]; v != "" {
				return "${" + m[1] + ":-" + v + "}"
			}
			return m[2]
		})
		if m := wholeValueRef.FindStringSubmatch(l); m != nil {
			lines[i] = m[1] + strconv.Quote(value(m[2])) + nl
			continue
		}
		lines[i] = envRef.ReplaceAllStringFunc(l, value) + nl
	}
	return strings.Join(lines, "")
}

// referencedVars lists the variables a text references, with whether each has
// a default.
func referencedVars(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range nestedRef.FindAllStringSubmatch(text, -1) {
		out[m[1]] = true
	}
	text = nestedRef.ReplaceAllString(text, "$2")
	for _, m := range envRef.FindAllStringSubmatch(text, -1) {
		out[m[1]] = strings.Contains(m[0], ":-")
	}
	return out
}

// materialize writes the embedded defaults to a temporary directory with the
// top-level files expanded, as the appliance does before handing them over.
func materialize(t *testing.T, env map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		if p == "prometheus.yml" || p == "alertmanager.yml" {
			b = []byte(expandEnv(t, string(b), env))
		}
		return os.WriteFile(target, b, 0o644)
	})
	require.NoError(t, err)
	return dir
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "alpha", "URL": "https://x.invalid/a b"}
	cases := []struct{ name, in, want string }{
		{"whole value is quoted", "url: ${URL}\n", "url: \"https://x.invalid/a b\"\n"},
		{"list item value is quoted", "  - routing_key: ${A}\n", "  - routing_key: \"alpha\"\n"},
		{"default", "location: ${TZ_UNSET:-UTC}", "location: \"UTC\""},
		{"empty default", "user: ${U_UNSET:-}", "user: \"\""},
		{"inside a value", "x: pre-${A}-post", "x: pre-alpha-post"},
		{"templates untouched", "s: '{{ $labels.job }}'", "s: '{{ $labels.job }}'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, expandEnv(t, c.in, env))
		})
	}
}
