package bench

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// System is one system under test: the appliance, or a peer: Prometheus + Alertmanager,
// or VictoriaMetrics single-node + vmalert + Alertmanager.
type System struct {
	Name string `json:"name"`
	// Appliance is the smm-appliance binary; empty for a peer.
	Appliance string `json:"appliance,omitempty"`
	// Prometheus and Alertmanager are a peer's binaries.
	Prometheus   string `json:"prometheus,omitempty"`
	Alertmanager string `json:"alertmanager,omitempty"`
	// VictoriaMetrics and VMAlert are the VictoriaMetrics peer's binaries (with
	// Alertmanager); Prometheus is empty then.
	VictoriaMetrics string `json:"victoria_metrics,omitempty"`
	VMAlert         string `json:"vmalert,omitempty"`
	// Variant marks another build or tuning of the appliance (--variant), measured
	// against the baseline appliance; the issues' targets are for peers only.
	Variant bool `json:"variant,omitempty"`
	// Env is added to the environment of the system's processes (GOGC=75, GOMEMLIMIT=…).
	Env []string `json:"env,omitempty"`
	// Versions maps component to version, filled by Probe.
	Versions map[string]string `json:"versions"`
	Note     string            `json:"note,omitempty"`
}

// IsPeer reports whether s is a peer (not the appliance).
func (s *System) IsPeer() bool { return s.Appliance == "" }

// IsVM reports whether s is VictoriaMetrics + vmalert + Alertmanager.
func (s *System) IsVM() bool { return s.VictoriaMetrics != "" }

// Binaries are the system's executables.
func (s *System) Binaries() []string {
	var out []string
	for _, b := range []string{s.Appliance, s.Prometheus, s.VictoriaMetrics, s.VMAlert, s.Alertmanager} {
		if b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Probe fills Versions from the binaries: what --version says, else (a build without
// version stamping, such as go install) the module version in the Go build info. For the
// appliance it adds the versions of the Prometheus and Alertmanager modules it embeds.
func (s *System) Probe() {
	s.Versions = map[string]string{}
	if s.IsVM() {
		s.Versions["victoria-metrics"] = vmVersion(s.VictoriaMetrics)
		s.Versions["vmalert"] = vmVersion(s.VMAlert)
		s.Versions["alertmanager"] = binaryVersion(s.Alertmanager)
		return
	}
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

// vmVersion is a VictoriaMetrics binary's version: "-version" prints a line such as
// "victoria-metrics-20220801-…-tags-v1.79.5-0-g…" (Debian's build) or nothing (go
// install), so the first vX.Y.Z in it, else the module version in the Go build info.
func vmVersion(path string) string {
	out, _ := exec.Command(path, "-version").CombinedOutput()
	if m := vmVersionRE.FindString(string(out)); m != "" {
		return m
	}
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version + " (go build info)"
	}
	// Debian's build prints nothing and has no module version: ask dpkg who owns it.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if out, err := exec.Command("dpkg-query", "-S", real).Output(); err == nil {
			pkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ":")
			if v, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output(); err == nil && len(v) > 0 {
				return string(v) + " (Debian package " + pkg + ")"
			}
		}
	}
	return "unknown"
}

var vmVersionRE = regexp.MustCompile(`v[0-9]+\.[0-9]+\.[0-9]+`)

// instance is a running system.
type instance struct {
	sys     *System
	web, am string   // base URLs of the query API (Prometheus or VictoriaMetrics) and Alertmanager API
	rules   string   // base URL of /api/v1/rules: web, or vmalert's
	data    string   // the TSDB's data directory
	tsdb    *process // the process holding the TSDB: the appliance, Prometheus or VictoriaMetrics
	ruler   *process // vmalert; nil otherwise
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
	var ruleAddr string
	switch {
	case sys.IsVM():
		if ruleAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		p.VM = &VMAddrs{VictoriaMetrics: webAddr, VMAlert: ruleAddr, Alertmanager: amAddr}
	case sys.IsPeer():
		p.Peer = &PeerAddrs{Prometheus: webAddr, Alertmanager: amAddr}
	}
	cfg, data := filepath.Join(dir, "config"), filepath.Join(dir, "data")
	if err := WriteConfig(cfg, p); err != nil {
		return nil, fmt.Errorf("%s: config: %w", sys.Name, err)
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	in := &instance{sys: sys, web: "http://" + webAddr, am: "http://" + amAddr, rules: "http://" + webAddr}
	if sys.IsPeer() {
		in.alertm = newProcess("alertmanager", sys.Alertmanager, filepath.Join(dir, "alertmanager.log"),
			"--config.file", filepath.Join(cfg, "alertmanager.yml"),
			"--storage.path", filepath.Join(data, "alertmanager"),
			"--web.listen-address", amAddr,
			// No gossip: a single Alertmanager, like the appliance's default.
			"--cluster.listen-address=")
	}
	switch {
	case sys.IsVM():
		in.data = filepath.Join(data, "victoria-metrics")
		in.rules = "http://" + ruleAddr
		in.tsdb = newProcess("victoria-metrics", sys.VictoriaMetrics, filepath.Join(dir, "victoria-metrics.log"),
			"-storageDataPath", in.data,
			"-httpListenAddr", webAddr,
			// prometheus.yml holds only what promscrape reads (VMAddrs); strict
			// parsing fails on anything else instead of scraping differently.
			"-promscrape.config", filepath.Join(cfg, "prometheus.yml"),
			"-promscrape.config.strictParse",
			// The default 16 MB refuses the 10k-series targets' larger pages
			// at 1M series; Prometheus has no such limit by default.
			"-promscrape.maxScrapeSize", "1GB",
			// Queries see the present, as in Prometheus: by default an
			// instant query is answered for 30 s ago (see -rule.evalDelay).
			"-search.latencyOffset", "0s")
		args := []string{
			"-rule", filepath.Join(cfg, "rules", "*.yml"),
			"-datasource.url", "http://" + webAddr,
			"-notifier.url", "http://" + amAddr,
			"-evaluationInterval", p.EvalInterval.String(),
			"-httpListenAddr", ruleAddr,
		}
		// By default vmalert evaluates 30 s in the past (-rule.evalDelay) and
		// VictoriaMetrics answers an instant query near now for 30 s ago
		// (-search.latencyOffset): every alert 30 s late, which no other
		// system here does. Both are set to 0, the setting VictoriaMetrics
		// documents for alerting on fresh data. Versions before the flag
		// (Debian's 1.79) evaluate at the present.
		if supportsFlag(sys.VMAlert, "rule.evalDelay") {
			args = append(args, "-rule.evalDelay", "0s")
		}
		// Prometheus adds its external labels to the alerts it sends; vmalert
		// does so for -external.label.
		labels, err := ExternalLabels(p.Source)
		if err != nil {
			return nil, err
		}
		for _, l := range labels {
			args = append(args, "-external.label", l)
		}
		in.ruler = newProcess("vmalert", sys.VMAlert, filepath.Join(dir, "vmalert.log"), args...)
	case sys.IsPeer():
		in.data = filepath.Join(data, "prometheus")
		in.tsdb = newProcess("prometheus", sys.Prometheus, filepath.Join(dir, "prometheus.log"),
			"--config.file", filepath.Join(cfg, "prometheus.yml"),
			"--storage.tsdb.path", in.data,
			"--web.listen-address", webAddr,
			// For the snapshot that measures bytes on disk per sample; the
			// appliance serves the admin API to its admin role.
			"--web.enable-admin-api")
	default:
		in.data = data
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
	out := []*process{in.tsdb}
	for _, p := range []*process{in.ruler, in.alertm} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// waitReady waits for /-/ready of every listener (VictoriaMetrics and vmalert serve it
// too, once their storage and rules are loaded).
func (in *instance) waitReady(ctx context.Context, timeout time.Duration) error {
	if err := in.tsdb.waitHTTP(ctx, in.web+"/-/ready", timeout); err != nil {
		return err
	}
	if in.ruler != nil {
		if err := in.ruler.waitHTTP(ctx, in.rules+"/-/ready", timeout); err != nil {
			return err
		}
	}
	proc := in.tsdb
	if in.alertm != nil {
		proc = in.alertm
	}
	return proc.waitHTTP(ctx, in.am+"/-/ready", timeout)
}

// headSeries is the number of series in the head (Prometheus' TSDB), or the series
// VictoriaMetrics has created since it started (every run starts on an empty directory).
func (in *instance) headSeries(ctx context.Context) (float64, error) {
	if in.sys.IsVM() {
		return metricSum(ctx, in.web, "vm_new_timeseries_created_total")
	}
	return metricSum(ctx, in.web, "prometheus_tsdb_head_series")
}

// samplesAppended is the number of samples the TSDB has taken since it started.
func (in *instance) samplesAppended(ctx context.Context) (float64, error) {
	if in.sys.IsVM() {
		return metricSum(ctx, in.web, "vm_rows_added_to_storage_total")
	}
	return metricSum(ctx, in.web, "prometheus_tsdb_head_samples_appended_total")
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

// supportsFlag reports whether a VictoriaMetrics binary's -help lists -name.
func supportsFlag(binary, name string) bool {
	out, _ := exec.Command(binary, "-help").CombinedOutput()
	return strings.Contains(string(out), "-"+name+" ")
}
