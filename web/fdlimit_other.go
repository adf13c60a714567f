//go:build !unix

package web

import "log/slog"

func checkFileLimit(maxConns int, _ *slog.Logger) int { return maxConns }
