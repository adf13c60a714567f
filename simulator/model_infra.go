package simulator

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// postgresModel stands in for postgres_exporter.
type postgresModel struct {
	up       prometheus.Gauge
	backends prometheus.Gauge
}

func newPostgresModel(reg prometheus.Registerer, start time.Time) *postgresModel {
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pg_up", Help: "Whether the last scrape of PostgreSQL succeeded."})
	backends := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "pg_stat_database_numbackends",
		Help:        "Backends connected to the database.",
		ConstLabels: prometheus.Labels{"datname": "smm"},
	})
	started := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pg_postmaster_start_time_seconds", Help: "Time at which PostgreSQL started."})
	started.Set(float64(start.Add(-72 * time.Hour).Unix()))
	reg.MustRegister(up, backends, started)
	return &postgresModel{up: up, backends: backends}
}

func (m *postgresModel) advance(st *step) {
	down := st.active.on(scDatabaseDown)
	m.up.Set(boolGauge(!down))
	if down {
		m.backends.Set(0)
		return
	}
	m.backends.Set(math.Round(40 + 10*diurnal(st.now) + st.rnd.NormFloat64()*3))
}

// redisModel stands in for redis_exporter.
type redisModel struct {
	up      prometheus.Gauge
	clients prometheus.Gauge
	memory  prometheus.Gauge
}

func newRedisModel(reg prometheus.Registerer) *redisModel {
	m := &redisModel{
		up:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "redis_up", Help: "Whether the Redis instance is reachable."}),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "redis_connected_clients", Help: "Connected clients."}),
		memory:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "redis_memory_used_bytes", Help: "Memory used by Redis."}),
	}
	reg.MustRegister(m.up, m.clients, m.memory)
	return m
}

func (m *redisModel) advance(st *step) {
	down := st.active.on(scRedisDown)
	m.up.Set(boolGauge(!down))
	if down {
		m.clients.Set(0)
		return
	}
	m.clients.Set(math.Round(25 + st.rnd.NormFloat64()*2))
	m.memory.Set(math.Round(310*mib + st.rnd.NormFloat64()*4*mib))
}

// vaultModel stands in for Vault's telemetry; only its scrape health matters to the
// alerts (vault-down is a target-down scenario).
type vaultModel struct {
	alloc  prometheus.Gauge
	tokens prometheus.Gauge
}

func newVaultModel(reg prometheus.Registerer) *vaultModel {
	unsealed := prometheus.NewGauge(prometheus.GaugeOpts{Name: "vault_core_unsealed", Help: "Whether Vault is unsealed."})
	unsealed.Set(1)
	m := &vaultModel{
		alloc:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "vault_runtime_alloc_bytes", Help: "Bytes allocated by the Vault process."}),
		tokens: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vault_token_count", Help: "Tokens in the token store."}),
	}
	reg.MustRegister(unsealed, m.alloc, m.tokens)
	return m
}

func (m *vaultModel) advance(st *step) {
	m.alloc.Set(math.Round(95*mib + st.rnd.NormFloat64()*2*mib))
	m.tokens.Set(math.Round(180 + st.rnd.NormFloat64()*5))
}

// filesystem is one mount of the node. The full /dev/shm tmpfs is normal (shared memory
// segments) and shows that disk alerts must only look at real filesystems.
type filesystem struct {
	device, fstype, mountpoint string
	size                       float64
	used                       float64 // healthy share used
	avail, total               prometheus.Gauge
}

// realFilesystem reports whether disk alerts should consider the fstype.
func realFilesystem(fstype string) bool {
	switch fstype {
	case "tmpfs", "overlay", "squashfs", "ramfs", "devtmpfs":
		return false
	}
	return true
}

// nodeModel stands in for node_exporter.
type nodeModel struct {
	filesystems []*filesystem
	memAvail    float64 // healthy available share
	memTotal    prometheus.Gauge
	memAvailG   prometheus.Gauge
}

const (
	nodeMemory       = 32 * gib
	defaultDiskMount = "/var/lib/smm"
)

func newNodeModel(reg prometheus.Registerer) *nodeModel {
	labels := []string{"device", "fstype", "mountpoint"}
	avail := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "node_filesystem_avail_bytes",
		Help: "Filesystem space available to non-root users in bytes.",
	}, labels)
	size := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "node_filesystem_size_bytes",
		Help: "Filesystem size in bytes.",
	}, labels)
	memTotal := prometheus.NewGauge(prometheus.GaugeOpts{Name: "node_memory_MemTotal_bytes", Help: "Memory information field MemTotal_bytes."})
	memAvail := prometheus.NewGauge(prometheus.GaugeOpts{Name: "node_memory_MemAvailable_bytes", Help: "Memory information field MemAvailable_bytes."})
	reg.MustRegister(avail, size, memTotal, memAvail)

	m := &nodeModel{memAvail: 0.5, memTotal: memTotal, memAvailG: memAvail}
	for _, fs := range []filesystem{
		{device: "/dev/nvme0n1p2", fstype: "ext4", mountpoint: "/", size: 200 * gib, used: 0.42},
		{device: "/dev/nvme1n1", fstype: "xfs", mountpoint: defaultDiskMount, size: 1024 * gib, used: 0.55},
		{device: "/dev/nvme0n1p1", fstype: "vfat", mountpoint: "/boot/efi", size: 512 * mib, used: 0.12},
		{device: "tmpfs", fstype: "tmpfs", mountpoint: "/run", size: 3.2 * gib, used: 0.03},
		{device: "tmpfs", fstype: "tmpfs", mountpoint: "/dev/shm", size: 8 * gib, used: 0.97},
	} {
		fs.avail = avail.WithLabelValues(fs.device, fs.fstype, fs.mountpoint)
		fs.total = size.WithLabelValues(fs.device, fs.fstype, fs.mountpoint)
		m.filesystems = append(m.filesystems, &fs)
	}
	return m
}

// mountpoints returns the real filesystems' mountpoints, the disk-full targets.
func (m *nodeModel) mountpoints() []string {
	var out []string
	for _, fs := range m.filesystems {
		if realFilesystem(fs.fstype) {
			out = append(out, fs.mountpoint)
		}
	}
	return out
}

func (m *nodeModel) advance(st *step) {
	for _, fs := range m.filesystems {
		used := min(0.99, fs.used+st.rnd.NormFloat64()*0.001)
		if st.active.aimed(scDiskFull, fs.mountpoint) {
			used = 0.94
		}
		fs.total.Set(fs.size)
		fs.avail.Set(math.Round(fs.size * (1 - used)))
	}

	m.memAvail = min(0.55, max(0.45, m.memAvail+st.rnd.NormFloat64()*0.002*math.Sqrt(st.dt)))
	avail := m.memAvail
	if st.active.on(scMemoryHigh) {
		avail = 0.04 + st.rnd.NormFloat64()*0.003
	}
	m.memTotal.Set(nodeMemory)
	m.memAvailG.Set(math.Round(nodeMemory * avail))
}
