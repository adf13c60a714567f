package appliance

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
	promconfig "github.com/prometheus/prometheus/config"
)

// setMemoryLimit sets GOMEMLIMIT to ratio of the cgroup's (or else the
// machine's) memory, as Prometheus does with --auto-gomemlimit: near the
// limit the collector works harder instead of the kernel killing the
// process. An explicit GOMEMLIMIT in the environment wins.
func setMemoryLimit(enabled bool, ratio float64, logger *slog.Logger) error {
	if ratio <= 0 || ratio > 1 {
		return fmt.Errorf("--auto-gomemlimit.ratio must be in (0, 1], got %g", ratio)
	}
	if !enabled {
		return nil
	}
	if _, err := memlimit.Set(
		memlimit.WithRatio(ratio),
		memlimit.WithProvider(memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)),
		memlimit.WithLogger(logger.With("component", "automemlimit")),
	); err != nil {
		// Not fatal: the process runs as it would without the flag.
		logger.Warn("could not set GOMEMLIMIT automatically", "err", err)
	}
	return nil
}

// applyGoGC applies prometheus.yml's runtime.gogc (default 75, or $GOGC),
// as Prometheus does on every configuration load. The TSDB head is most of
// the heap; collecting at 75 % growth instead of Go's 100 % keeps RSS lower
// for little CPU.
func applyGoGC(cfg *promconfig.Config, logger *slog.Logger) {
	gogc := cfg.Runtime.GoGC
	if old := debug.SetGCPercent(gogc); old != gogc {
		logger.Info("updated GOGC", "old", old, "new", gogc)
	}
	// Mirrored into the environment for /api/v1/status/runtimeinfo.
	if gogc >= 0 {
		os.Setenv("GOGC", strconv.Itoa(gogc))
	} else {
		os.Setenv("GOGC", "off")
	}
}
