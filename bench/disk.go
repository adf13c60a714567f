package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// diskUsage is what a system keeps on disk for the samples it holds, compacted as far as
// its own API allows, and how that was done.
type diskUsage struct {
	Bytes int64
	How   string
}

// compactedDisk compacts what the TSDB holds and measures it. Prometheus (and the
// appliance, which embeds its TSDB) keeps a run of minutes in the head and its WAL, so
// the head is written as a block by the snapshot API (POST /api/v1/admin/tsdb/snapshot:
// the block a head compaction would write, index and chunks), measured and removed.
// VictoriaMetrics flushes its in-memory parts and merges its partitions
// (/internal/force_flush, /internal/force_merge), and its whole data directory is
// measured (data and indexdb; not its caches or snapshots).
func (in *instance) compactedDisk(ctx context.Context) (diskUsage, error) {
	if in.sys.IsVM() {
		return in.vmCompactedDisk(ctx)
	}
	code, body, err := httpDo(ctx, http.MethodPost, in.web+"/api/v1/admin/tsdb/snapshot?skip_head=false")
	if err != nil {
		return diskUsage{}, err
	}
	var resp struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &resp) != nil || resp.Data.Name == "" {
		return diskUsage{}, fmt.Errorf("snapshot: %d %.200s", code, body)
	}
	var snap string
	_ = filepath.WalkDir(in.data, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == resp.Data.Name && filepath.Base(filepath.Dir(path)) == "snapshots" {
			snap = path
			return filepath.SkipAll
		}
		return nil
	})
	if snap == "" {
		return diskUsage{}, fmt.Errorf("snapshot %s not found under %s", resp.Data.Name, in.data)
	}
	defer os.RemoveAll(snap)
	n, err := dirBytes(snap, nil)
	return diskUsage{Bytes: n, How: "head written as a block by the snapshot API"}, err
}

func (in *instance) vmCompactedDisk(ctx context.Context) (diskUsage, error) {
	if code, body, err := httpDo(ctx, http.MethodPost, in.web+"/internal/force_flush"); err != nil || code != http.StatusOK {
		return diskUsage{}, fmt.Errorf("force_flush: %d %v %.200s", code, err, body)
	}
	if code, body, err := httpDo(ctx, http.MethodPost, in.web+"/internal/force_merge"); err != nil || code != http.StatusOK {
		return diskUsage{}, fmt.Errorf("force_merge: %d %v %.200s", code, err, body)
	}
	// The merge runs in the background; vm_active_force_merges counts it.
	if err := sleep(ctx, time.Second); err != nil {
		return diskUsage{}, err
	}
	if !waitUntil(ctx, 5*time.Minute, func() bool {
		n, err := metricSum(ctx, in.web, "vm_active_force_merges")
		return err == nil && n == 0
	}) {
		return diskUsage{}, fmt.Errorf("force_merge did not finish in 5 minutes")
	}
	n, err := dirBytes(in.data, map[string]bool{"snapshots": true, "cache": true, "tmp": true})
	return diskUsage{Bytes: n, How: "in-memory parts flushed and partitions merged (force_flush, force_merge); data and indexdb"}, err
}

// dirBytes sums the sizes of the regular files under dir, skipping top-level
// directories named in skip.
func dirBytes(dir string, skip map[string]bool) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && filepath.Dir(path) == dir && skip[d.Name()] {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
