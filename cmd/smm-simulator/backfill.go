package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smm-architect/smm-appliance/simulator"
)

// prepareBackfill decides whether to backfill and, if so, starts the
// simulated clock that far back. A TSDB that already holds data is left
// alone: its head would refuse samples older than what it has.
func prepareBackfill(opts *simulator.Options, logger *slog.Logger) bool {
	b := opts.Backfill
	if b.Dir == "" || b.Duration <= 0 {
		return false
	}
	if simulator.TSDBHasData(b.Dir) {
		logger.Info("backfill skipped: the TSDB already holds data", "dir", b.Dir)
		return false
	}
	opts.Start = time.Now().Add(-b.Duration)
	return true
}

// runBackfill writes the history up to now; the live run continues from it.
func runBackfill(sim *simulator.Simulator, b simulator.BackfillOptions, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := sim.Backfill(ctx, b.Dir, time.Now(), b.Step)
	if err != nil {
		return fmt.Errorf("backfill %s: %w", b.Dir, err)
	}
	logger.Info("backfilled history", "dir", b.Dir, "from", res.From.Format(time.RFC3339), "to", res.To.Format(time.RFC3339),
		"blocks", res.Blocks, "samples", res.Samples, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}
