//go:build unix

package web

import (
	"log/slog"
	"syscall"
)

// checkFileLimit raises the soft RLIMIT_NOFILE to the hard limit (Go does so
// at start on Linux; this covers the rest) and, when max connections plus
// the reserve do not fit, lowers the cap to what fits and says so.
func checkFileLimit(maxConns int, logger *slog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logger.Warn("cannot read the file descriptor limit", "component", "web", "err", err)
		return maxConns
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	capped, ok := fitConnections(maxConns, uint64(lim.Cur))
	if !ok {
		logger.Warn("the file descriptor limit is too low for --web.max-connections plus the descriptors the data directory needs; connections are capped lower (raise LimitNOFILE / ulimit -n)",
			"component", "web", "limit", lim.Cur, "max_connections", maxConns, "reserve", fdReserve, "capped_to", capped)
	}
	return capped
}
