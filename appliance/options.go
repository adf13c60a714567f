package appliance

import (
	"fmt"
	"net/url"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"

	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
)

// Options are everything an operator sets on the command line.
type Options struct {
	ConfigDir   string
	StoragePath string
	Environment string

	RetentionTime model.Duration
	RetentionSize units.Base2Bytes
	MinFreeSpace  units.Base2Bytes

	WebListenAddress          string
	AlertmanagerListenAddress string
	ExternalURL               string
	WebConfigFile             string
	WebMaxConnections         int

	AlertmanagerRetention time.Duration
	MaxAlerts             int
	MaxAlertBytes         units.Base2Bytes
	ResendDelay           model.Duration

	QueryTimeout        model.Duration
	QueryMaxSamples     int
	QueryMaxConcurrency int

	NoLogFallback bool

	RemoteWriteReceiver bool
	OTLPReceiver        bool

	ClusterListenAddress    string
	ClusterAdvertiseAddress string
	ClusterPeers            []string
	ClusterPeerTimeout      time.Duration
	ClusterGossipInterval   time.Duration
	ClusterPushPullInterval time.Duration
	ClusterSettleTimeout    time.Duration
	ClusterTLSConfig        string

	AutoGoMemLimit      bool
	AutoGoMemLimitRatio float64

	HistoryRetentionTime model.Duration
	HistoryRetentionSize units.Base2Bytes

	AuditRetentionTime model.Duration
	AuditRetentionSize units.Base2Bytes

	// Flags is filled by RegisterFlags for /api/v1/status/flags.
	Flags map[string]string
}

// RegisterFlags defines the run flags, named like Prometheus' own.
func (o *Options) RegisterFlags(cmd Flagger) {
	cmd.Flag("config.dir", "Directory with prometheus.yml, alertmanager.yml, rules/, templates/, targets/ and dashboards/. A file present there overrides the embedded SMM default of the same name. Empty: embedded defaults only.").
		Envar("SMM_CONFIG_DIR").StringVar(&o.ConfigDir)
	cmd.Flag("storage.path", "Data directory: TSDB, silences, notification log, each in its own subfolder.").
		Default("data").StringVar(&o.StoragePath)
	cmd.Flag("environment", "Value of the external label environment (staging, production); also $SMM_ENVIRONMENT in config files.").
		Envar("SMM_ENVIRONMENT").StringVar(&o.Environment)
	cmd.Flag("storage.tsdb.retention.time", "How long to keep samples.").
		Default("15d").SetValue(&o.RetentionTime)
	cmd.Flag("storage.tsdb.retention.size", "Maximum bytes of TSDB blocks to keep (0: no limit). Units: B, KB, MB, GB, TB, PB.").
		Default("0").BytesVar(&o.RetentionSize)
	cmd.Flag("storage.tsdb.min-free-space", "Refuse new samples while the data directory's filesystem has less free space than this, so a full disk cannot tear the WAL (0 disables).").
		Default("2MB").BytesVar(&o.MinFreeSpace)
	cmd.Flag("web.listen-address", "Address for the Prometheus HTTP API, lifecycle endpoints and /metrics.").
		Default(":9090").StringVar(&o.WebListenAddress)
	cmd.Flag("alertmanager.listen-address", "Address for the Alertmanager API (v2, and v1 reads).").
		Default(":9093").StringVar(&o.AlertmanagerListenAddress)
	cmd.Flag("web.external-url", "URL under which the appliance is reachable (used in alert links and silence URLs). Default: http://<hostname>:<web port>/.").
		StringVar(&o.ExternalURL)
	cmd.Flag("web.config.file", "exporter-toolkit web config file: TLS and basic_auth_users (bcrypt) for both listeners; roles are in appliance.yml. Re-read on change.").
		Envar("SMM_WEB_CONFIG_FILE").Default("").StringVar(&o.WebConfigFile)
	cmd.Flag("web.max-connections", "Maximum number of simultaneous connections across the web and Alertmanager listeners; at the limit a new connection replaces the longest idle one.").
		Default("512").IntVar(&o.WebMaxConnections)
	cmd.Flag("alertmanager.data-retention", "How long to keep expired silences and notification log entries.").
		Default("120h").DurationVar(&o.AlertmanagerRetention)
	cmd.Flag("alertmanager.max-alerts", "Most alerts the alert store holds, firing or resolved in the last 30 min; a POST of new alerts over it gets 507. Memory: 100k alerts in 100 groups peaked at 529 MB RSS (docs/benchmarks.md).").
		Default(fmt.Sprint(alertmanager.DefaultMaxAlerts)).IntVar(&o.MaxAlerts)
	cmd.Flag("alertmanager.max-alert-bytes", "Most bytes of labels and annotations the alert store holds; a POST over it gets 507. Units: B, KB, MB, GB.").
		Default(units.Base2Bytes(alertmanager.DefaultMaxAlertBytes).String()).BytesVar(&o.MaxAlertBytes)
	cmd.Flag("rules.alert.resend-delay", "Minimum time before a firing alert is re-sent to the Alertmanager pipeline.").
		Default("1m").SetValue(&o.ResendDelay)
	cmd.Flag("alertmanager.no-log-fallback", "Drop notifications for receivers whose channels are all disabled (no secret set) instead of logging them.").
		BoolVar(&o.NoLogFallback)
	cmd.Flag("web.enable-remote-write-receiver", "Accept Prometheus remote write on /api/v1/write (services that cannot be scraped push here).").
		BoolVar(&o.RemoteWriteReceiver)
	cmd.Flag("web.enable-otlp-receiver", "Accept OTLP metrics on /api/v1/otlp/v1/metrics.").
		BoolVar(&o.OTLPReceiver)
	cmd.Flag("cluster.listen-address", "Listen address for Alertmanager's gossip cluster (HA pairs, e.g. 0.0.0.0:9094). Empty disables clustering.").
		StringVar(&o.ClusterListenAddress)
	cmd.Flag("cluster.advertise-address", "Address to advertise to cluster peers.").
		StringVar(&o.ClusterAdvertiseAddress)
	cmd.Flag("cluster.peer", "Initial peer (repeat the flag for each).").
		StringsVar(&o.ClusterPeers)
	cmd.Flag("cluster.peer-timeout", "Time to wait between peers to send notifications (the n-th peer waits n times this).").
		Default("15s").DurationVar(&o.ClusterPeerTimeout)
	cmd.Flag("cluster.gossip-interval", "Interval between gossip messages.").
		Default("200ms").DurationVar(&o.ClusterGossipInterval)
	cmd.Flag("cluster.pushpull-interval", "Interval for full state syncs between peers.").
		Default("1m").DurationVar(&o.ClusterPushPullInterval)
	cmd.Flag("cluster.settle-timeout", "Maximum time to wait for the cluster to settle before notifying.").
		Default("1m").DurationVar(&o.ClusterSettleTimeout)
	cmd.Flag("cluster.tls-config", "File with mutual TLS for gossip, in Alertmanager's --cluster.tls-config format (tls_server_config and tls_client_config). Never expose the cluster port without it.").
		StringVar(&o.ClusterTLSConfig)
	cmd.Flag("history.retention.time", "How long to keep the notification history.").
		Default("30d").SetValue(&o.HistoryRetentionTime)
	cmd.Flag("history.retention.size", "Maximum size of the notification history on disk.").
		Default("256MB").BytesVar(&o.HistoryRetentionSize)
	cmd.Flag("audit.retention.time", "How long to keep audit log entries (0: until --audit.retention.size).").
		Default("90d").SetValue(&o.AuditRetentionTime)
	cmd.Flag("audit.retention.size", "Maximum size of the audit log on disk (five files).").
		Default("50MB").BytesVar(&o.AuditRetentionSize)
	cmd.Flag("auto-gomemlimit", "Set GOMEMLIMIT from the cgroup's (or else the machine's) memory limit, as Prometheus does.").
		Default("true").BoolVar(&o.AutoGoMemLimit)
	cmd.Flag("auto-gomemlimit.ratio", "Share of the detected memory limit given to GOMEMLIMIT.").
		Default("0.9").Float64Var(&o.AutoGoMemLimitRatio)
	cmd.Flag("query.timeout", "Maximum time a query may take before being aborted.").
		Default("2m").SetValue(&o.QueryTimeout)
	cmd.Flag("query.max-samples", "Maximum number of samples a single query can load into memory.").
		Default("50000000").IntVar(&o.QueryMaxSamples)
	cmd.Flag("query.max-concurrency", "Maximum number of queries executed concurrently.").
		Default("20").IntVar(&o.QueryMaxConcurrency)
}

// Validate checks the options after parsing.
func (o *Options) Validate() error {
	if o.StoragePath == "" {
		return fmt.Errorf("--storage.path must not be empty")
	}
	if o.ExternalURL != "" {
		u, err := url.Parse(o.ExternalURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("--web.external-url %q: must be an absolute http(s) URL", o.ExternalURL)
		}
	}
	if o.QueryMaxConcurrency < 1 {
		return fmt.Errorf("--query.max-concurrency must be at least 1")
	}
	if o.MaxAlerts < 1 {
		return fmt.Errorf("--alertmanager.max-alerts must be at least 1, not %d", o.MaxAlerts)
	}
	if o.MaxAlertBytes < units.KiB {
		return fmt.Errorf("--alertmanager.max-alert-bytes must be at least 1KB, not %s", o.MaxAlertBytes)
	}
	return nil
}

// Flagger is where flags are defined: a kingpin application or command.
type Flagger interface {
	Flag(name, help string) *kingpin.FlagClause
}
