package bench

import (
	"os"
	"strings"
	"testing"
)

// TestVMVersion: the version smm-bench reports for a VictoriaMetrics binary, from the Go
// build info (go install) or from dpkg (Debian's build, which prints no version).
func TestVMVersion(t *testing.T) {
	ran := false
	for bin, want := range map[string]string{
		"../bin/peer/victoria-metrics": "(go build info)",
		"/usr/bin/victoria-metrics":    "(Debian package victoria-metrics)",
	} {
		if _, err := os.Stat(bin); err != nil {
			continue
		}
		if strings.HasPrefix(bin, "../bin/peer") {
			if b, _ := os.ReadFile(bin + ".note"); strings.HasPrefix(string(b), "Debian") {
				want = "(Debian package victoria-metrics)"
			}
		}
		ran = true
		if v := vmVersion(bin); !strings.Contains(v, want) {
			t.Errorf("vmVersion(%s) = %q, want it to say %q", bin, v, want)
		}
	}
	if !ran {
		t.Skip("no VictoriaMetrics binary here (make bench-vm)")
	}
}
