package bench

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// System is one system under test: the appliance, or a peer (Prometheus + Alertmanager).
type System struct {
	Name string `json:"name"`
	// Appliance is the smm-appliance binary; empty for a peer.
	Appliance string `json:"appliance,omitempty"`
	// Prometheus and Alertmanager are a peer's binaries.
	Prometheus   string `json:"prometheus,omitempty"`
	Alertmanager string `json:"alertmanager,omitempty"`
	// Env is added to the environment of the system's processes (GOGC=75, GOMEMLIMIT=…).
	Env []string `json:"env,omitempty"`
	// Versions maps component to version, filled by Probe.
	Versions map[string]string `json:"versions"`
	Note     string            `json:"note,omitempty"`
}

// IsPeer reports whether s is Prometheus + Alertmanager.
func (s *System) IsPeer() bool { return s.Appliance == "" }

// Probe fills Versions from the binaries: what --version says, else (a build without
// version stamping, such as go install) the module version in the Go build info. For the
// appliance it adds the versions of the Prometheus and Alertmanager modules it embeds.
func (s *System) Probe() {
	s.Versions = map[string]string{}
	if s.IsPeer() {
		s.Versions["prometheus"] = binaryVersion(s.Prometheus)
		s.Versions["alertmanager"] = binaryVersion(s.Alertmanager)
		return
	}
	s.Versions["smm-appliance"] = binaryVersion(s.Appliance)
	if bi, err := buildinfo.ReadFile(s.Appliance); err == nil {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/prometheus/prometheus":
				s.Versions["prometheus libs"] = d.Version
			case "github.com/prometheus/alertmanager":
				s.Versions["alertmanager libs"] = d.Version
			}
		}
	}
}

func binaryVersion(path string) string {
	v := version(path)
	if v != "unknown" && v != "unstamped build" {
		return v
	}
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version + " (go build info)"
	}
	return v
}

// instance is a running system.
type instance struct {
	sys     *System
	web, am string   // base URLs of the Prometheus and Alertmanager APIs
	tsdb    *process // the process holding the TSDB: the appliance, or Prometheus
	alertm  *process // the peer's Alertmanager; nil for the appliance
	started time.Time
}

// startSystem writes the system's configuration under dir and starts it, returning once
// every process reports ready.
func startSystem(ctx context.Context, sys *System, dir string, p ConfigParams) (*instance, error) {
	webAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	amAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if sys.IsPeer() {
		p.Peer = &PeerAddrs{Prometheus: webAddr, Alertmanager: amAddr}
	}
	cfg, data := filepath.Join(dir, "config"), filepath.Join(dir, "data")
	if err := WriteConfig(cfg, p); err != nil {
		return nil, fmt.Errorf("%s: config: %w", sys.Name, err)
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	in := &instance{sys: sys, web: "http://" + webAddr, am: "http://" + amAddr}
	if sys.IsPeer() {
		in.tsdb = newProcess("prometheus", sys.Prometheus, filepath.Join(dir, "prometheus.log"),
			"--config.file", filepath.Join(cfg, "prometheus.yml"),
			"--storage.tsdb.path", filepath.Join(data, "prometheus"),
			"--web.listen-address", webAddr)
		in.alertm = newProcess("alertmanager", sys.Alertmanager, filepath.Join(dir, "alertmanager.log"),
			"--config.file", filepath.Join(cfg, "alertmanager.yml"),
			"--storage.path", filepath.Join(data, "alertmanager"),
			"--web.listen-address", amAddr,
			// No gossip: a single Alertmanager, like the appliance's default.
			"--cluster.listen-address=")
	} else {
		in.tsdb = newProcess("smm-appliance", sys.Appliance, filepath.Join(dir, "appliance.log"),
			"--config.dir", cfg,
			"--storage.path", data,
			"--web.listen-address", webAddr,
			"--alertmanager.listen-address", amAddr)
	}
	in.started = time.Now()
	for _, pr := range in.procs() {
		pr.env = sys.Env
		if err := pr.start(); err != nil {
			in.stop()
			return nil, err
		}
	}
	if err := in.waitReady(ctx, 2*time.Minute); err != nil {
		in.stop()
		return nil, err
	}
	return in, nil
}

func (in *instance) procs() []*process {
	if in.alertm != nil {
		return []*process{in.tsdb, in.alertm}
	}
	return []*process{in.tsdb}
}

func (in *instance) waitReady(ctx context.Context, timeout time.Duration) error {
	if err := in.tsdb.waitHTTP(ctx, in.web+"/-/ready", timeout); err != nil {
		return err
	}
	proc := in.tsdb
	if in.alertm != nil {
		proc = in.alertm
	}
	return proc.waitHTTP(ctx, in.am+"/-/ready", timeout)
}

// stop ends every process with SIGKILL: shutdown is not measured, and a system still busy
// with a storm could take long to stop gracefully.
func (in *instance) stop() {
	for _, p := range in.procs() {
		p.kill()
	}
}

// usage is a reading of the system's processes, summed, and of its TSDB process alone.
type usage struct {
	Mem, TSDBMem ProcMem
	CPU, TSDBCPU float64
	At           time.Time
}

func (in *instance) usage() (usage, error) {
	u := usage{At: time.Now()}
	for _, p := range in.procs() {
		m, err := readMem(p.pid())
		if err != nil {
			return u, fmt.Errorf("%s: %w", p.name, err)
		}
		c, err := readCPU(p.pid())
		if err != nil {
			return u, fmt.Errorf("%s: %w", p.name, err)
		}
		u.Mem.RSS += m.RSS
		u.Mem.Peak += m.Peak
		u.CPU += c
		if p == in.tsdb {
			u.TSDBMem, u.TSDBCPU = m, c
		}
	}
	return u, nil
}

// restartTSDB kills the TSDB process with SIGKILL and starts it again on the same data,
// returning the time from exec to /-/ready.
func (in *instance) restartTSDB(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	in.tsdb.kill()
	start := time.Now()
	if err := in.tsdb.start(); err != nil {
		return 0, err
	}
	if err := in.tsdb.waitHTTP(ctx, in.web+"/-/ready", timeout); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
