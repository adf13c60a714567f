package storage

import (
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// DiskUsageCollector reports the size and free space of the filesystem that
// holds the data directory, so the appliance can alert on its own disk
// without a node_exporter beside it.
type DiskUsageCollector struct {
	path        string
	avail, size *prometheus.Desc
}

var _ prometheus.Collector = (*DiskUsageCollector)(nil)

// NewDiskUsageCollector watches the filesystem of path.
func NewDiskUsageCollector(path string) *DiskUsageCollector {
	return &DiskUsageCollector{
		path: path,
		avail: prometheus.NewDesc("smm_appliance_storage_available_bytes",
			"Bytes available to the appliance on the filesystem of its data directory.", []string{"path"}, nil),
		size: prometheus.NewDesc("smm_appliance_storage_size_bytes",
			"Size in bytes of the filesystem of the data directory.", []string{"path"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *DiskUsageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.avail
	ch <- c.size
}

// Collect implements prometheus.Collector.
func (c *DiskUsageCollector) Collect(ch chan<- prometheus.Metric) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(c.path, &st); err != nil {
		ch <- prometheus.NewInvalidMetric(c.avail, err)
		return
	}
	bs := float64(st.Bsize)
	ch <- prometheus.MustNewConstMetric(c.avail, prometheus.GaugeValue, float64(st.Bavail)*bs, c.path)
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.Blocks)*bs, c.path)
}
